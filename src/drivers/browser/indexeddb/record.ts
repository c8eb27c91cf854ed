/**
 * The records of the indexeddb driver (one per key, the value beside its metadata) and the
 * plain-IndexedDB helpers every path uses: request promises and error mapping.
 */

import type { WriteOptions } from "../../../core/driver/contract.js";
import { AnystoreError } from "../../../core/errors.js";

/** The one object store, and its index of records that carry a ttl. */
export const RECORDS = "records";
export const EXPIRES = "expiresAt";

export interface Record_ {
  /** Bytes, or a Blob above the driver's `blobThreshold`. */
  value: Uint8Array | Blob;
  size: number;
  /** When this value was written (epoch ms); an overwrite is a new value, as on fs. */
  createdAt: number;
  updatedAt: number;
  /** Epoch ms; absent for never (so the record stays out of the expiresAt index). */
  expiresAt?: number;
  contentType?: string;
}

/** A value to write: full key, value in stored form, size in bytes. */
export type Entry = [key: string, value: Uint8Array | Blob, size: number];

export const expired = (r: Record_, now = Date.now()) => r.expiresAt !== undefined && r.expiresAt <= now;

export function recordOf(value: Uint8Array | Blob, size: number, now: number, o: WriteOptions): Record_ {
  const r: Record_ = { value, size, createdAt: now, updatedAt: now };
  if (o.ttl) r.expiresAt = now + o.ttl * 1000;
  if (o.contentType) r.contentType = o.contentType;
  return r;
}

/** True for the errors of a connection the browser (or another tab) closed: reopen and retry once. */
export const isClosing = (error: unknown) =>
  /^(InvalidStateError|TransactionInactiveError|UnknownError)$/.test((error as DOMException)?.name);

export function wrapError(error: unknown, key?: string): unknown {
  if (error instanceof AnystoreError || !(error instanceof Error)) return error;
  const quota = error.name === "QuotaExceededError";
  return new AnystoreError(
    quota
      ? "IndexedDB quota exceeded (free space, or ask navigator.storage.persist())"
      : `IndexedDB failed: ${error.message}`,
    { key, cause: error },
  );
}

/** A request's result as a promise. */
export const request = <T>(r: IDBRequest<T>) =>
  new Promise<T>((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
