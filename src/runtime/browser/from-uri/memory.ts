// A stepping stone for ../uri-drivers.ts, which says why.
export { memoryDriverFromUri as fromUri } from "../../../drivers/browser/memory.js";
