// A stepping stone for ../uri-drivers.ts, which says why.
export { opfsDriverFromUri as fromUri } from "../../../drivers/browser/opfs/opfs.js";
