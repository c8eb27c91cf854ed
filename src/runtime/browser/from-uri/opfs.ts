// A stepping stone for browser-drivers.ts, which says why.
export { opfsDriverFromUri as fromUri } from "../../../drivers/browser/opfs/opfs.js";
