// A stepping stone for ../uri-drivers.ts, which says why.
export { s3DriverFromUri as fromUri } from "../../../drivers/browser/s3/s3.js";
