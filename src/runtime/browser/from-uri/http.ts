// A stepping stone for ../uri-drivers.ts, which says why.
export { httpDriverFromUri as fromUri } from "../../../drivers/browser/http/http.js";
