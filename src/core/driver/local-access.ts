/**
 * An optional side door for drivers that keep values inside the process (memory). Through it
 * the store reads and writes synchronously, without a promise per call, and hands strings over
 * as strings: a string put and read back is never encoded to UTF-8 and decoded again.
 * Behaviour is the same as through `get`/`put`; only the work differs.
 */

import type { Codec } from "../serialize.js";
import { decodeStoredText, decodeValue, isWellFormed, utf8 } from "../serialize.js";
import type { Driver, WriteOptions } from "./contract.js";

/** A stored value as an in-process driver keeps it. */
export interface StoredValue {
  /** The bytes; may be absent while `text` is set and nobody has needed them yet. */
  readonly bytes: Uint8Array | undefined;
  /** Set when the value came as a well-formed string: `bytes` are exactly its UTF-8. */
  readonly text: string | undefined;
}

export interface LocalAccess {
  /** The live value, or undefined when missing or expired. Never a promise. */
  peek(key: string): StoredValue | undefined;
  /**
   * Stores a well-formed string (its bytes made only when needed) or bytes that stay the
   * caller's: the driver copies what it keeps. Throws `AlreadyExistsError` for `ifNotExists`
   * on a live key.
   */
  store(key: string, value: string | Uint8Array, opts: WriteOptions): void;
  /** Removes the key; a missing key is not an error. */
  remove(key: string): void;
}

/** A driver with the side door. Only drivers that enforce ttl themselves may offer it. */
export interface LocalDriver extends Driver {
  readonly local: LocalAccess;
}

export function localAccessOf(driver: Driver): LocalAccess | undefined {
  return (driver as Partial<LocalDriver>).local;
}

/** What to hand `LocalAccess.store`: a string only when its UTF-8 decodes back to it. */
export function storable(encoded: string | Uint8Array): string | Uint8Array {
  return typeof encoded === "string" && !isWellFormed(encoded) ? utf8(encoded) : encoded;
}

/** Decodes a stored value by the codec: from its text when there is one, else from its (driver-owned) bytes. */
export function decodeStored(value: StoredValue, codec: Codec): unknown {
  return value.text !== undefined ? decodeStoredText(value.text, codec) : decodeValue(value.bytes!, codec, true);
}
