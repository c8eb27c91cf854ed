/**
 * The indexeddb driver's less frequent half, loaded by the first open: opening the database
 * (with `idb`), listing, ifNotExists writes, sweeping expired records, streamed writes and listening for changes.
 * Every call waits for the open anyway, so this is there before any call needs it, and stays
 * out of an app's first chunk.
 */

export { blobWriter } from "../blob-gatherer.js";
export { listenForNotices, postNotice } from "../channel.js";
export { pagedKeys } from "./list.js";
export { connectStore } from "./open.js";
export { addAll, dropExpired, sweepExpired } from "./own-transaction.js";
