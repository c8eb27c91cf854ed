/** Browser stand-in for the sql driver: same names, throws `UnsupportedError` when called. */
import type { Driver } from "../../../core/driver/contract.js";
import { UnsupportedError } from "../../../core/errors.js";
import type { SqlDialectName, SqlDriverOptions } from "./sql.js";

export type { SqlDialectName, SqlDriverOptions };
export const DRIVER_NAME = "sql";

const advice =
  "the sql driver needs Node.js; in a browser reach the database through `anystore serve` (anystore+http://), or use idb:// or opfs://";

export function sqlDriver(_opts?: SqlDriverOptions): Driver {
  throw new UnsupportedError(advice);
}

export function sqlDriverFromUri(_uri: string, _options?: Record<string, unknown>): Driver {
  throw new UnsupportedError(advice);
}
