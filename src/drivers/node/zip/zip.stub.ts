/** Browser stand-in for the zip driver: same names, throws `UnsupportedError` when called. */
import type { Driver } from "../../../core/driver/contract.js";
import { UnsupportedError } from "../../../core/errors.js";
import type { ZipDriverOptions } from "./zip.js";

export type { ZipDriverOptions };
export const DRIVER_NAME = "zip";

const message = "the zip driver needs Node.js; in a browser, reach an archive through `anystore serve`";

/**
 * Throws `UnsupportedError`: zip archives are read and written with node:fs.
 * @example
 * zipDriver({ path: "a.zip" }); // throws in a browser
 */
export function zipDriver(_opts?: ZipDriverOptions): Driver {
  throw new UnsupportedError(message);
}

/** Throws `UnsupportedError` (see `zipDriver`). */
export function zipDriverFromUri(_uri: string, _options: Record<string, unknown>): Driver {
  throw new UnsupportedError(message);
}
