/**
 * Conditional changes of a key that holds a token (a lock's holder, a queue item's claim):
 * delete it or extend its ttl only while it still holds the caller's token, so a holder whose
 * lock has expired and passed to another never removes or prolongs the new holder's lock.
 *
 * The store's public API has no conditional delete, so today these are a read, a comparison
 * and then the write: not atomic on any driver. The gap is the time between the read and the
 * write; it matters only if the key expires and is taken by another holder inside it, which
 * the callers rule out by acting only while their ttl has a safety margin left (see lock.ts).
 *
 * The seam for doing better: a store (or a wrapper) may carry an `AtomicOps` object under the
 * `ATOMIC_OPS` symbol, and these functions then use it instead. What each backend would use:
 * - Redis: a Lua script, `if GET(key) == token then DEL(key)` (and `PEXPIRE` for renew);
 * - SQL: `DELETE FROM t WHERE key = ? AND value = ?` (`UPDATE ... SET timestamp, ttl WHERE ...`);
 * - IndexedDB: get, compare and delete inside one readwrite transaction;
 * - memory: a synchronous compare and delete;
 * - fs, zip, OPFS, S3 and `anystore+http` (Python's REST protocol has no conditional delete)
 *   have no single atomic step and stay with read-compare-write (S3 could use `If-Match` on
 *   the ETag for renew, but deletes are unconditional).
 */
import type { Store } from "../types.js";

/** Where a store carries its atomic conditional operations, when it has them. */
export const ATOMIC_OPS = Symbol.for("anystore.atomicOps");

/** Conditional operations done in one atomic step by the backend. Keys are relative to the store. */
export interface AtomicOps {
  /** Deletes `key` only while its bytes equal `expected`; resolves to whether it did. */
  compareAndDelete(key: string, expected: Uint8Array): Promise<boolean>;
  /** Rewrites `key` with the same bytes and a new ttl (seconds) only while they equal `expected`. */
  compareAndRenew(key: string, expected: Uint8Array, ttl: number): Promise<boolean>;
}

/** The store's atomic operations, if it carries any. */
export function atomicOps(store: Store<unknown>): AtomicOps | undefined {
  return (store as unknown as { [ATOMIC_OPS]?: AtomicOps })[ATOMIC_OPS];
}

export const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The key's raw bytes, or null when it is missing or expired. */
export async function readRaw(store: Store<unknown>, key: string): Promise<Uint8Array | null> {
  return (await store.get(key, { serialization: "raw", default: null })) as Uint8Array | null;
}

/** Whether the key holds exactly `expected` right now. */
export async function holds(store: Store<unknown>, key: string, expected: Uint8Array): Promise<boolean> {
  const current = await readRaw(store, key);
  return current !== null && sameBytes(current, expected);
}

/** Deletes `key` if it holds `expected`; resolves to whether it did. Atomic only through `AtomicOps`. */
export async function compareAndDelete(store: Store<unknown>, key: string, expected: Uint8Array): Promise<boolean> {
  const ops = atomicOps(store);
  if (ops) return ops.compareAndDelete(key, expected);
  if (!(await holds(store, key, expected))) return false;
  await store.delete(key);
  return true;
}

/** Gives `key` a new ttl if it holds `expected`; resolves to whether it did. Atomic only through `AtomicOps`. */
export async function compareAndRenew(
  store: Store<unknown>,
  key: string,
  expected: Uint8Array,
  ttl: number,
): Promise<boolean> {
  const ops = atomicOps(store);
  if (ops) return ops.compareAndRenew(key, expected, ttl);
  if (!(await holds(store, key, expected))) return false;
  await store.put(key, expected, { ttl, serialization: "raw" });
  return true;
}
