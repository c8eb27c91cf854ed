/**
 * TTL for drivers that have none: the expiry lives in a reserved sidecar key, checked on every
 * read (one extra round trip) and removed with the value once it has passed. Part of the
 * completion (complete.ts), so it loads with the store's lazy half.
 */

import { RESERVED } from "../keys.js";
import type { Driver, WriteOptions } from "./contract.js";
import { keyPages } from "./pages.js";

/** Where the emulation keeps a key's expiry (epoch ms, as text). Reserved: never listed. */
const TTL_PREFIX = `${RESERVED}/ttl/`;
const ttlKey = (key: string) => `${TTL_PREFIX}${key}`;
const decoder = new TextDecoder();

/** The driver with expiry kept beside each value; batches are left to the loop emulations. */
export function withSidecarTtl(driver: Driver): Driver {
  const expired = async (key: string): Promise<boolean> => {
    const raw = await driver.get(ttlKey(key));
    if (raw === null) return false;
    if (Number(decoder.decode(raw)) > Date.now()) return false;
    await Promise.all([driver.delete(key), driver.delete(ttlKey(key))]);
    return true;
  };
  const setExpiry = (key: string, opts: WriteOptions) =>
    opts.ttl
      ? driver.put(ttlKey(key), new TextEncoder().encode(String(Date.now() + opts.ttl * 1000)), {})
      : driver.delete(ttlKey(key));
  const alive = <A extends unknown[], R>(fn: ((key: string, ...rest: A) => Promise<R | null>) | undefined) =>
    fn &&
    (async (key: string, ...rest: A): Promise<R | null> =>
      (await expired(key)) ? null : fn.call(driver, key, ...rest));
  const wrapped: Driver = {
    ...driver,
    name: driver.name,
    capabilities: driver.capabilities,
    get: alive(driver.get)!,
    has: driver.has && (async (key) => !(await expired(key)) && driver.has!(key)),
    info: alive(driver.info),
    read: alive(driver.read),
    async put(key, value, opts) {
      // A driver's atomic create must not meet an expired value: `expired` removes it first.
      if (opts.ifNotExists) await expired(key);
      await driver.put(key, value, opts);
      await setExpiry(key, opts);
    },
    async delete(key) {
      await Promise.all([driver.delete(key), driver.delete(ttlKey(key))]);
    },
    write:
      driver.write &&
      (async (key, opts) => {
        if (opts.ifNotExists) await expired(key);
        const inner = await driver.write!(key, opts);
        const writer = inner.getWriter();
        return new WritableStream<Uint8Array>({
          write: (chunk) => writer.write(chunk),
          close: async () => {
            await writer.close();
            await setExpiry(key, opts);
          },
          abort: (reason) => writer.abort(reason),
        });
      }),
    list:
      driver.list &&
      async function* (prefix: string) {
        // Only keys that have a sidecar can have expired: one listing of those, then a check each.
        const withTtl = new Set<string>();
        for await (const page of keyPages(driver.list(TTL_PREFIX + prefix))) {
          for (const meta of page) withTtl.add(meta.slice(TTL_PREFIX.length));
        }
        for await (const page of keyPages(driver.list(prefix))) {
          const kept: string[] = [];
          for (const key of page) {
            if (key.startsWith(RESERVED) || (withTtl.has(key) && (await expired(key)))) continue;
            kept.push(key);
          }
          yield kept;
        }
      },
    getMany: undefined,
    putMany: undefined,
    deleteMany: undefined,
    async sweep() {
      let removed = 0;
      for await (const page of keyPages(driver.list?.(TTL_PREFIX) ?? [])) {
        for (const meta of page) if (await expired(meta.slice(TTL_PREFIX.length))) removed++;
      }
      return removed;
    },
  };
  return wrapped;
}
