/**
 * The indexeddb driver's operations that await inside a readwrite transaction of their own:
 * `ifNotExists` writes and removing expired records. They load with the database (see
 * lazy.ts), so an app's first chunk carries only the batched paths.
 */

import { alreadyExists } from "../../../core/already-exists.js";
import type { WriteOptions } from "../../../core/driver/contract.js";
import type { Batcher } from "./batch.js";
import { commit, finished } from "./batch.js";
import type { Entry, Record_ } from "./record.js";
import { EXPIRES, expired, RECORDS, recordOf, request } from "./record.js";

/** Expired records per sweep transaction. */
const SWEEP_PAGE = 1000;

/** Runs `fn` in a transaction of its own (for work that awaits inside it); aborts it if `fn` throws. */
async function own<R>(txs: Batcher, d: IDBDatabase, fn: (store: IDBObjectStore) => Promise<R>): Promise<R> {
  const tx = txs.begin(d, "readwrite");
  const done = finished(tx);
  try {
    const out = await fn(tx.objectStore(RECORDS));
    commit(tx);
    await done;
    return out;
  } catch (error) {
    done.catch(() => {});
    try {
      tx.abort();
    } catch {
      // already finished
    }
    throw error;
  }
}

/** Deletes expired records, SWEEP_PAGE per transaction; resolves to how many went. */
export async function sweepExpired(txs: Batcher, d: IDBDatabase): Promise<number> {
  let removed = 0;
  for (;;) {
    const n = await own(txs, d, async (store) => {
      const keys = await request(store.index(EXPIRES).getAllKeys(IDBKeyRange.upperBound(Date.now()), SWEEP_PAGE));
      for (const k of keys) store.delete(k);
      return keys.length;
    });
    removed += n;
    if (n < SWEEP_PAGE) return removed;
  }
}

/** Removes a key (full key) found expired by a read, unless it was rewritten meanwhile. */
export const dropExpired = (txs: Batcher, d: IDBDatabase, k: string) =>
  own(txs, d, async (store) => {
    const r = await request<Record_ | undefined>(store.get(k));
    if (r && expired(r)) store.delete(k);
  });

/** ifNotExists writes, all or none: an expired record counts as absent; any live one fails the lot. */
export const addAll = (txs: Batcher, d: IDBDatabase, entries: Entry[], now: number, o: WriteOptions, base: string) =>
  own(txs, d, (store) => Promise.all(entries.map((e) => addNew(store, e, now, o, base.length))));

async function addNew(store: IDBObjectStore, [k, value, size]: Entry, now: number, o: WriteOptions, cut: number) {
  const old = await request<Record_ | undefined>(store.get(k));
  const key = k.slice(cut);
  if (old && !expired(old, now)) throw alreadyExists(key);
  if (old) store.delete(k);
  // `add` fails (aborting everything) if the key exists after all.
  await request(store.add(recordOf(value, size, now, o), k)).catch((error) => {
    throw error?.name === "ConstraintError" ? alreadyExists(key, { cause: error }) : error;
  });
}
