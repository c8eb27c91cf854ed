import type { CompleteDriver } from "./complete.js";
import type { Driver } from "./driver.js";
import { InvalidArgumentError, NotFoundError } from "./errors.js";
import type { Runtime } from "./runtime.js";
import type { Codec } from "./serialize.js";
import { checkSerialization } from "./serialize.js";
import type { StoreOptions } from "./types.js";

/** State shared by a store and its children: one driver, one connection. */
export interface Shared {
  readonly uri: string;
  readonly runtime: Runtime;
  readonly options: StoreOptions;
  readonly codec: Codec;
  readonly makeDriver: () => Promise<Driver>;
  driver?: CompleteDriver | undefined;
  loading?: Promise<CompleteDriver> | undefined;
}

/** A ttl in seconds (0: none), or InvalidArgumentError. */
export function checkTtl(ttl: unknown): number {
  if (ttl === undefined || ttl === null) return 0;
  if (typeof ttl !== "number" || !Number.isFinite(ttl) || ttl < 0) {
    throw new InvalidArgumentError(`ttl must be a number of seconds >= 0, got ${String(ttl)}`);
  }
  return ttl;
}

export function sharedState(uri: string, runtime: Runtime, options: StoreOptions, makeDriver: () => Promise<Driver>): Shared {
  checkTtl(options.defaultTtl);
  return {
    uri,
    runtime,
    options,
    makeDriver,
    codec: {
      serialization: checkSerialization(options.serialization ?? "auto"),
      serialize: options.serialize as Codec["serialize"],
      deserialize: options.deserialize,
      schema: options.schema,
    },
  };
}

/** The error for a missing key, as `get`, `info` and `open` throw it. */
export function notFound(key: string, store: string): NotFoundError {
  return new NotFoundError(`key does not exist: ${key}`, { key, store });
}
