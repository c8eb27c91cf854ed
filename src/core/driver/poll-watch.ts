/**
 * The `watch` emulation for drivers without a change feed (SPEC 11): list the prefix every
 * `interval` ms, take each key's signature (its etag, size and modification time, from the
 * listing itself where the driver gives them (S3), else from `info`; its bytes' hash where the
 * driver knows neither), and report what differs from the previous listing. A driver with a
 * cheap identity of its whole content (zip's archive) is listed again only when that changed. A
 * listing that fails is retried at the next tick; the first one that succeeds again reports
 * `resync` (changes may have come and gone meanwhile). Holds one timer, cleared on abort.
 */

import { UnsupportedError } from "../errors.js";
import { mapLimit } from "../streams/map-limit.js";
import type { Driver, DriverCapabilities, DriverInfo, DriverWatchEvent, KeyPage } from "./contract.js";

/** Parallel `info` calls per listing. */
const INFO_CONCURRENCY = 16;

type Snapshot = Map<string, string>;

/** What polling needs of a driver: a store's completed driver, or a driver itself (with `info`). */
export interface PolledDriver {
  readonly name: string;
  readonly capabilities: Partial<DriverCapabilities>;
  list(prefix: string): AsyncIterable<KeyPage | string>;
  info(key: string): Promise<DriverInfo | null>;
  get(key: string): Promise<Uint8Array | null>;
  /** The driver as given, when this is a completed one (to find a `StampedDriver`). */
  readonly raw?: Driver;
}

/**
 * A driver whose whole content has a cheap identity (zip: the archive's device, inode, size and
 * time; null while it does not exist): the poller lists again only when that has changed.
 * Internal, as `NeverExpiringDriver` is: not part of the public `Driver` type.
 */
export interface StampedDriver extends Driver {
  stamp(): Promise<string | null>;
}

/**
 * A driver whose listing carries what changes with a value (S3: ETag, size and time): the poller
 * takes signatures from it, with no `info` per key. Internal too.
 */
export interface SignedListingDriver extends Driver {
  listSignatures(prefix: string): AsyncIterable<[key: string, signature: string]>;
}

/**
 * Reports changes under `prefix` (`""` or ending in `/`) until `signal` aborts. Resolves after
 * the first listing (changes after it are reported); rejects when that one fails, or with
 * `UnsupportedError` for a driver that cannot list or write (plain http). Public to drivers whose feed may be missing
 * at run time (an HTTP server without events).
 */
export async function pollChanges(
  driver: PolledDriver,
  prefix: string,
  emit: (event: DriverWatchEvent) => void,
  signal: AbortSignal,
  interval: number,
): Promise<void> {
  // A read-only source (a plain web server, SPEC 11) would be crawled every interval: refused.
  if (driver.capabilities.list === false || driver.capabilities.write === false) {
    throw new UnsupportedError(`the ${driver.name} driver cannot be watched: it has no change feed and is read-only`);
  }
  const raw = (driver.raw ?? driver) as Partial<StampedDriver>;
  const stamp = raw.stamp ? () => raw.stamp!() : undefined;
  // Taken before each listing, so a change made while it runs shows at the next tick.
  let lastStamp = await stamp?.();
  let known = await snapshot(driver, prefix);
  let failed = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const unchanged = async () => {
    if (!stamp || failed) return false;
    const now = await stamp();
    if (now === lastStamp) return true;
    lastStamp = now;
    return false;
  };
  const tick = async () => {
    try {
      if (!(await unchanged())) {
        const now = await snapshot(driver, prefix);
        if (signal.aborted) return;
        if (failed) emit({ type: "resync" });
        else report(known, now, emit);
        failed = false;
        known = now;
      }
    } catch {
      failed = true;
    }
    if (!signal.aborted) timer = setTimeout(tick, interval);
  };
  if (signal.aborted) return;
  // Not unref'd: a watch being read keeps the process alive, as a file watcher does.
  timer = setTimeout(tick, interval);
  signal.addEventListener("abort", () => clearTimeout(timer), { once: true });
}

/** Every key under the prefix with its signature. */
async function snapshot(driver: PolledDriver, prefix: string): Promise<Snapshot> {
  const signed = (driver.raw ?? driver) as Partial<SignedListingDriver>;
  if (signed.listSignatures) {
    const result: Snapshot = new Map();
    for await (const [key, signature] of signed.listSignatures(prefix)) result.set(key, signature);
    return result;
  }
  const keys: string[] = [];
  for await (const page of driver.list(prefix)) {
    if (typeof page === "string") keys.push(page);
    else for (const key of page) keys.push(key);
  }
  const signatures = await mapLimit(keys, INFO_CONCURRENCY, (key) => signatureOf(driver, key));
  const result: Snapshot = new Map();
  keys.forEach((key, i) => {
    const signature = signatures[i];
    if (signature !== null && signature !== undefined) result.set(key, signature);
  });
  return result;
}

/** What changes when the value does, or null when the key has gone meanwhile. */
async function signatureOf(driver: PolledDriver, key: string): Promise<string | null> {
  const info = await driver.info(key);
  if (info === null) return null;
  const time = info.updatedAt?.getTime();
  if (info.etag !== undefined || time !== undefined) return `${info.etag ?? ""}|${info.size}|${time ?? ""}`;
  // Neither etag nor time (a driver without `info`): a same-size overwrite shows only in the bytes.
  const bytes = await driver.get(key);
  return bytes === null ? null : `${info.size}|${fnv1a(bytes)}`;
}

function fnv1a(bytes: Uint8Array): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) hash = Math.imul(hash ^ bytes[i]!, 0x01000193);
  return hash >>> 0;
}

function report(before: Snapshot, after: Snapshot, emit: (event: DriverWatchEvent) => void): void {
  for (const [key, signature] of after) if (before.get(key) !== signature) emit({ type: "put", key });
  for (const key of before.keys()) if (!after.has(key)) emit({ type: "delete", key });
}
