/**
 * The indexeddb driver's less frequent half, loaded by the first open: opening the database
 * (with `idb`), listing, ifNotExists writes and sweeping expired records. Every call waits for
 * the open anyway, so this is there before any call needs it, and stays out of an app's first
 * chunk.
 */

export { pagedKeys } from "./indexeddb-list.js";
export { openStore } from "./indexeddb-open.js";
export { addAll, dropExpired, sweepExpired } from "./indexeddb-own.js";
