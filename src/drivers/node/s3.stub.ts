/**
 * Browser stand-in for the s3 driver (what the `browser` export condition resolves to): same
 * names, throws `UnsupportedError` when called. The driver itself uses only web APIs; it is
 * kept out of browser bundles so credentials are not shipped to pages by accident.
 */
import type { Driver } from "../../core/driver.js";
import { UnsupportedError } from "../../core/errors.js";
import type { S3DriverOptions, S3UrlOptions } from "./s3.js";

export type { S3DriverOptions, S3UrlOptions };
export const DRIVER_NAME = "s3";

const advice =
  "the s3 driver is not exported to browser bundles: hand the browser presigned URLs (store.url(key)), or reach the bucket through `anystore serve`";

/** Throws `UnsupportedError`: see the Node export of `anystore/drivers/s3`. */
export function s3Driver(_opts?: S3DriverOptions): Driver & { url(key: string, opts: S3UrlOptions): Promise<string> } {
  throw new UnsupportedError(advice);
}

/** Throws `UnsupportedError`: see the Node export of `anystore/drivers/s3`. */
export function s3DriverFromUri(_uri: string, _options: Record<string, unknown>): Driver {
  throw new UnsupportedError(advice);
}
