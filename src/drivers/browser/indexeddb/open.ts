/**
 * Opening (and upgrading) the indexeddb driver's database through `idb`, and key ranges for
 * listings. Loaded with the first open (see lazy.ts), so it stays out of an app's
 * first chunk.
 */

import { openDB, unwrap } from "idb";
import { ConnectionError } from "../../../core/errors.js";
import { EXPIRES, RECORDS } from "./record.js";

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
 */
export async function openStore(name: string, onGone: () => void): Promise<IDBDatabase> {
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

/** `openStore` within `timeout` ms (another tab can block an upgrade); failures are a `ConnectionError` saying why. */
export function connectStore(name: string, onGone: () => void, timeout: number): Promise<IDBDatabase> {
  return new Promise<IDBDatabase>((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(new ConnectionError(`IndexedDB "${name}" did not open within ${timeout} ms (blocked by another tab?)`)),
      timeout,
    );
    openStore(name, onGone)
      .then(resolve, (error) =>
        reject(new ConnectionError(`cannot open IndexedDB "${name}": ${error?.message ?? error}`, { cause: error })),
      )
      .finally(() => clearTimeout(timer));
  });
}
