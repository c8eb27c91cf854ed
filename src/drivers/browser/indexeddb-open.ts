/**
 * The IndexedDB plumbing of the indexeddb driver: opening (and upgrading) the database through
 * `idb`, plain-IndexedDB request helpers for the hot paths, key ranges and error mapping.
 */

import { AnystoreError } from "../../core/errors.js";

/** The one object store, and its index of records that carry a ttl. */
export const RECORDS = "records";
export const EXPIRES = "expiresAt";

/**
 * The smallest string greater than every string starting with `prefix` (its last code unit
 * incremented), so `[prefix, upper)` is exactly the keys under it, with no `\uffff` guess.
 */
export function rangeOf(prefix: string): IDBKeyRange | undefined {
  let p = prefix;
  while (p.length > 0 && p.charCodeAt(p.length - 1) === 0xffff) p = p.slice(0, -1);
  if (p === "") return undefined;
  return IDBKeyRange.bound(prefix, p.slice(0, -1) + String.fromCharCode(p.charCodeAt(p.length - 1) + 1), false, true);
}

/**
 * Opens the database, adding our store with a version bump when it is missing (a new or shared
 * database). Resolves to the plain connection: the driver's hot paths skip idb's proxies.
 * `idb` loads with the first open (which is async anyway), so it stays out of an app's first chunk.
 */
export async function openStore(name: string, onGone: () => void): Promise<IDBDatabase> {
  const { openDB, unwrap } = await import("idb");
  const callbacks = {
    // Another tab wants a new version (or deletes the database): let it, and reopen on next use.
    blocking: (_c: number, _b: number | null, event: IDBVersionChangeEvent) => {
      (event.target as IDBDatabase).close();
      onGone();
    },
    terminated: onGone,
  };
  for (let attempt = 0; ; attempt++) {
    const db = await openDB(name, undefined, callbacks);
    if (db.objectStoreNames.contains(RECORDS)) return unwrap(db);
    db.close();
    try {
      const upgraded = await openDB(name, db.version + 1, {
        ...callbacks,
        upgrade: (up) => void up.createObjectStore(RECORDS).createIndex(EXPIRES, EXPIRES),
      });
      return unwrap(upgraded);
    } catch (error) {
      // Someone else upgraded first (VersionError, or our store exists now): open again and look.
      if (attempt > 2) throw error;
    }
  }
}

/** True for the errors of a connection the browser (or another tab) closed: reopen and retry once. */
export const isClosing = (error: unknown) => /^(InvalidStateError|TransactionInactiveError|UnknownError)$/.test((error as DOMException)?.name);

export function wrapError(error: unknown, key?: string): unknown {
  if (error instanceof AnystoreError || !(error instanceof Error)) return error;
  const quota = error.name === "QuotaExceededError";
  return new AnystoreError(quota ? "IndexedDB quota exceeded (free space, or ask navigator.storage.persist())" : `IndexedDB failed: ${error.message}`, { key, cause: error });
}

/** A request's result as a promise. */
export const request = <T>(r: IDBRequest<T>) =>
  new Promise<T>((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });

