/**
 * TTL for the opfs driver: a key's expiry (epoch ms, as text) lives in the reserved file
 * `.anystore/ttl/<key>`, the layout of the core's generic emulation, so existing stores read
 * the same. Unlike that emulation, a store that never used a ttl pays nothing per call: whether
 * the `.anystore/ttl` folder exists is remembered for RECHECK_MS (another tab or worker may add
 * one; rechecking at least that often means none of its expiries can pass unnoticed, as long as
 * ttls are at least RECHECK_MS long).
 */

import type { Driver, KeyPage, WriteOptions } from "../../../core/driver/contract.js";
import { RESERVED } from "../../../core/keys.js";

const TTL_PREFIX = `${RESERVED}/ttl/`;
const RECHECK_MS = 250;
const ttlKey = (key: string) => TTL_PREFIX + key;
const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** The driver operations the sidecars go through (they are keys too), and a folder probe. */
export interface TtlBase {
  get(key: string): Promise<Uint8Array | null>;
  put(key: string, value: Uint8Array): Promise<void>;
  delete(key: string): Promise<void>;
  list(prefix: string): AsyncIterable<KeyPage>;
  /** True when the `/`-separated folder exists. */
  hasFolder(path: string): Promise<boolean>;
}

export function ttlSidecars(base: TtlBase) {
  let inUse: boolean | undefined;
  let checkedAt = -Infinity;

  /** Whether any key here may carry a ttl (cached; see RECHECK_MS). */
  const used = async (): Promise<boolean> => {
    if (inUse !== undefined && performance.now() - checkedAt < RECHECK_MS) return inUse;
    inUse = await base.hasFolder(TTL_PREFIX.slice(0, -1));
    checkedAt = performance.now();
    return inUse;
  };

  /** True (and the key and its sidecar are removed) when the key's ttl has passed. */
  const expired = async (key: string): Promise<boolean> => {
    if (!(await used())) return false;
    const at = await base.get(ttlKey(key));
    if (at === null || Number(decoder.decode(at)) > Date.now()) return false;
    await Promise.all([base.delete(key), base.delete(ttlKey(key))]);
    return true;
  };

  /** After a write: records the new expiry, or drops an old one (an overwrite without ttl lives forever). */
  const written = async (key: string, opts: WriteOptions | undefined): Promise<void> => {
    if (opts?.ttl) {
      await base.put(ttlKey(key), encoder.encode(String(Date.now() + opts.ttl * 1000)));
      inUse = true;
      checkedAt = performance.now();
    } else if (await used()) await base.delete(ttlKey(key));
  };

  const deleted = async (key: string): Promise<void> => {
    if (await used()) await base.delete(ttlKey(key));
  };

  /** Removes every expired key; resolves to how many went. */
  const sweep = async (): Promise<number> => {
    if (!(await used())) return 0;
    let removed = 0;
    for await (const page of base.list(TTL_PREFIX)) {
      for (const sidecar of page) if (await expired(sidecar.slice(TTL_PREFIX.length))) removed++;
    }
    return removed;
  };

  return { used, expired, written, deleted, sweep };
}

/** `driver` with ttl enforced through sidecars: reads check the expiry, writes set or clear it. */
export function withTtl(
  driver: Driver &
    Required<Pick<Driver, "has" | "info" | "read" | "write">> & { list(prefix: string): AsyncIterable<KeyPage> },
  ttl: ReturnType<typeof ttlSidecars>,
): Driver {
  const alive =
    <A extends unknown[], R>(fn: (key: string, ...rest: A) => Promise<R | null>) =>
    async (key: string, ...rest: A): Promise<R | null> =>
      (await ttl.expired(key)) ? null : fn(key, ...rest);
  return {
    ...driver,
    capabilities: { ...driver.capabilities, ttl: true },
    get: alive(driver.get),
    has: async (key) => !(await ttl.expired(key)) && driver.has(key),
    info: alive(driver.info),
    read: alive(driver.read),
    async put(key, value, opts) {
      await driver.put(key, value, opts);
      await ttl.written(key, opts);
    },
    async delete(key) {
      await driver.delete(key);
      await ttl.deleted(key);
    },
    async write(key, opts) {
      const inner = await driver.write(key, opts);
      // Without a ttl to set or clear, the driver's own stream (no extra layer per chunk).
      if (!opts?.ttl && !(await ttl.used())) return inner;
      const writer = inner.getWriter();
      return new WritableStream<Uint8Array>({
        write: (chunk) => writer.write(chunk),
        close: async () => {
          await writer.close();
          await ttl.written(key, opts);
        },
        abort: (reason) => writer.abort(reason),
      });
    },
    async *list(prefix) {
      // Per-key expiry checks only where some key has a ttl.
      const check = !prefix.startsWith(RESERVED) && (await ttl.used());
      for await (const page of driver.list(prefix)) {
        if (!check) yield page;
        else {
          const kept: string[] = [];
          for (const key of page) if (!(await ttl.expired(key))) kept.push(key);
          yield kept;
        }
      }
    },
    sweep: ttl.sweep,
  };
}
