/**
 * The part of a driver the store's hot paths use (get, put, delete, exists), filled in where
 * the driver lacks it. The rest of the completion (streams, ranges, batches, listing, and TTL
 * for drivers without it) is in complete.ts, which loads only when something needs it.
 */

import type { Driver, DriverCapabilities, WriteOptions } from "./contract.js";
import type { LocalAccess } from "./local-access.js";
import { localAccessOf } from "./local-access.js";

export interface HotDriver {
  /** The driver as given: complete.ts completes it on demand. */
  readonly raw: Driver;
  /** As the driver declares them (absent is false); complete.ts fills in the rest. */
  readonly capabilities: Partial<DriverCapabilities>;
  readonly sharesBuffers: boolean;
  /** The synchronous side door of in-process drivers (see local-access.ts); absent for others. */
  readonly local: LocalAccess | undefined;
  get(key: string): Promise<Uint8Array | null>;
  put(key: string, value: Uint8Array, opts: WriteOptions): Promise<void>;
  delete(key: string): Promise<void>;
  has(key: string): Promise<boolean>;
}

/**
 * A driver of a source that holds nothing that expires (the plain http driver: read-only, no
 * ttl to keep). It reports `capabilities.ttl: false`, truthfully, and still needs no TTL
 * emulation. Internal: not part of the public `Driver` type.
 */
export interface NeverExpiringDriver extends Driver {
  readonly neverExpires: true;
}

/** Whether reads and writes must go through the sidecar TTL emulation (sidecar-ttl.ts). */
export function needsTtlEmulation(driver: Driver): boolean {
  return !driver.capabilities.ttl && !(driver as Partial<NeverExpiringDriver>).neverExpires;
}

/**
 * The hot half of a driver. `base` is what reads and writes go through (the driver itself, or
 * the sidecar TTL emulation around it); `raw` is the driver as given.
 */
export function hotDriver(raw: Driver, base: Driver = raw): HotDriver {
  const capabilities = raw.capabilities;
  return {
    raw,
    capabilities,
    sharesBuffers: raw.sharesBuffers ?? false,
    // Only where the driver keeps expiry itself: the TTL emulation must see every read.
    local: needsTtlEmulation(raw) ? undefined : localAccessOf(raw),
    get: (key) => base.get(key),
    put: (key, value, opts) => base.put(key, value, opts),
    delete: (key) => base.delete(key),
    has: base.has?.bind(base) ?? (async (key) => (await (base.info ? base.info(key) : base.get(key))) !== null),
  };
}
