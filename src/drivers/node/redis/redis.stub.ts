/** Browser stand-in for the redis driver: same names, throws `UnsupportedError` when called. */
import type { Driver } from "../../../core/driver/contract.js";
import { UnsupportedError } from "../../../core/errors.js";
import type { RedisDriverOptions } from "./redis.js";

export type { RedisDriverOptions };
export const DRIVER_NAME = "redis";

const advice =
  "the redis driver needs Node.js; in a browser reach Redis through `anystore serve` and an anystore+http(s):// store";

/** Throws `UnsupportedError`: Redis speaks TCP, which browsers cannot. */
export function redisDriver(_opts?: RedisDriverOptions): Driver {
  throw new UnsupportedError(advice);
}

/** Throws `UnsupportedError`, like `redisDriver`. */
export function redisDriverFromUri(_uri: string, _options: Record<string, unknown>): Driver {
  throw new UnsupportedError(advice);
}
