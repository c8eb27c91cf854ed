// A stepping stone for ../uri-drivers.ts, which says why.
export { indexeddbDriverFromUri as fromUri } from "../../../drivers/browser/indexeddb/indexeddb.js";
