// A stepping stone for browser-drivers.ts, which says why.
export { memoryDriverFromUri as fromUri } from "../../../drivers/browser/memory.js";
