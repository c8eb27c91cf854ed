/** Browser stand-in for the fs driver: same names, throws `UnsupportedError` when called. */
import type { Driver } from "../../../core/driver/contract.js";
import { UnsupportedError } from "../../../core/errors.js";
import type { FsDriverOptions } from "./fs.js";

export type { FsDriverOptions };
export const DRIVER_NAME = "fs";

export function fsDriver(_opts?: FsDriverOptions): Driver {
  throw new UnsupportedError(
    "the fs driver needs Node.js; in a browser use opfs:// or idb://, or reach a server's files through `anystore serve`",
  );
}
