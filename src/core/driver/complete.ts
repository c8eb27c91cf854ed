/**
 * Turns any driver into a complete one: every optional method present, emulated from the
 * required ones where the driver lacks it, so every store behaves the same (the OpenDAL
 * "operator" idea). Emulations trade speed or memory, never behaviour. Loaded only when needed
 * (through store-more.ts): at once for a driver without ttl, else on the first call beyond get,
 * put, delete and exists, whose part is in driver-core.ts.
 */

import type { ByteRange, Driver, DriverCapabilities, DriverInfo, WriteOptions } from "./contract.js";
import { NO_CAPABILITIES } from "./contract.js";
import type { CoreDriver } from "./hot-path.js";
import { coreDriver } from "./hot-path.js";
import { UnsupportedError } from "../errors.js";
import { RESERVED } from "../keys.js";
import { mapLimit } from "../streams/map-limit.js";
import type { Shared } from "../store/state.js";
import { concat, sliceStream } from "../streams/to-bytes.js";
import { bytesToStream, sliceBytes } from "../streams/from-bytes.js";

export type CompleteDriver = CoreDriver &
  Required<Pick<Driver, "name" | "list" | "info" | "read" | "write" | "getMany" | "putMany" | "deleteMany" | "sweep" | "close" | "url">> &
  Pick<Driver, "checksum"> & { readonly capabilities: DriverCapabilities };

/** Parallel calls used by the batch emulations. */
const BATCH_CONCURRENCY = 16;

export function completeDriver(driver: Driver): CompleteDriver {
  const base = driver.capabilities.ttl ? driver : withSidecarTtl(driver);
  const core = coreDriver(driver, base);
  const capabilities: DriverCapabilities = { ...NO_CAPABILITIES, list: !!driver.list, ...driver.capabilities };
  return {
    ...core,
    name: driver.name,
    capabilities,
    list:
      base.list?.bind(base) ??
      (() => {
        throw new UnsupportedError(`the ${driver.name} driver cannot list keys`);
      }),
    info: base.info?.bind(base) ?? (async (key) => infoFromBytes(await base.get(key))),
    read: readWith(base, capabilities),
    write: base.write?.bind(base) ?? (async (key, opts) => collectingWritable((bytes) => base.put(key, bytes, opts))),
    getMany: base.getMany?.bind(base) ?? ((keys) => mapLimit(keys, BATCH_CONCURRENCY, (key) => base.get(key))),
    putMany:
      base.putMany?.bind(base) ??
      (async (entries, opts) => {
        await mapLimit(entries, BATCH_CONCURRENCY, ([key, value]) => base.put(key, value, opts));
      }),
    deleteMany:
      base.deleteMany?.bind(base) ??
      (async (keys) => {
        await mapLimit(keys, BATCH_CONCURRENCY, (key) => base.delete(key));
      }),
    sweep: base.sweep?.bind(base) ?? (async () => 0),
    close: base.close?.bind(base) ?? (async () => {}),
    // Only where the driver enforces ttl itself: the sidecar emulation must see every read.
    checksum: capabilities.ttl ? driver.checksum?.bind(driver) : undefined,
    url:
      base.url?.bind(base) ??
      (async () => {
        throw new UnsupportedError(`the ${driver.name} driver cannot make URLs for keys`);
      }),
  };
}

/**
 * The loaded driver with every method present: completed once per driver, on first need, and
 * kept in `shared`. Checked against the loaded driver rather than just cached, since a
 * `close()` may have replaced it. Synchronous, so a call reaches the driver as soon as a hot
 * path would (calls issued together keep their order).
 */
export function completed(shared: Shared, core: CoreDriver): CompleteDriver {
  const done = shared.complete;
  return done?.raw === core.raw ? done : (shared.complete = completeDriver(core.raw));
}

/** A writable that gathers everything and hands it over once, on close: streamed writes for drivers without them. */
function collectingWritable(onClose: (bytes: Uint8Array) => Promise<void>): WritableStream<Uint8Array> {
  const chunks: Uint8Array[] = [];
  return new WritableStream<Uint8Array>({
    write(chunk) {
      chunks.push(chunk.slice());
    },
    close() {
      return onClose(concat(chunks));
    },
    abort() {
      chunks.length = 0;
    },
  });
}

function infoFromBytes(bytes: Uint8Array | null): DriverInfo | null {
  return bytes === null ? null : { size: bytes.byteLength, createdAt: null, updatedAt: null };
}

function readWith(driver: Driver, capabilities: DriverCapabilities): CompleteDriver["read"] {
  const read = driver.read?.bind(driver);
  if (!read) {
    return async (key, range) => {
      const bytes = await driver.get(key);
      if (bytes === null) return null;
      // A driver that keeps its buffers (memory) may overwrite them in place later: stream a copy taken now.
      const slice = sliceBytes(bytes, range);
      return bytesToStream(driver.sharesBuffers ? slice.slice() : slice);
    };
  }
  if (capabilities.ranges) return read;
  return async (key: string, range?: ByteRange) => {
    const stream = await read(key);
    return stream && range ? sliceStream(stream, range) : stream;
  };
}

/** Where the TTL emulation keeps a key's expiry (epoch ms, as text). Reserved: never listed. */
const ttlKey = (key: string) => `${RESERVED}/ttl/${key}`;
const decoder = new TextDecoder();

/**
 * TTL for drivers that have none: the expiry lives in a reserved sidecar key, checked on
 * every read (one extra round trip) and removed with the value once it has passed.
 */
function withSidecarTtl(driver: Driver): Driver {
  const expired = async (key: string): Promise<boolean> => {
    const raw = await driver.get(ttlKey(key));
    if (raw === null) return false;
    if (Number(decoder.decode(raw)) > Date.now()) return false;
    await Promise.all([driver.delete(key), driver.delete(ttlKey(key))]);
    return true;
  };
  const setExpiry = (key: string, opts: WriteOptions) =>
    opts.ttl ? driver.put(ttlKey(key), new TextEncoder().encode(String(Date.now() + opts.ttl * 1000)), {}) : driver.delete(ttlKey(key));
  const alive = <A extends unknown[], R>(fn: ((key: string, ...rest: A) => Promise<R | null>) | undefined) =>
    fn && (async (key: string, ...rest: A): Promise<R | null> => ((await expired(key)) ? null : fn.call(driver, key, ...rest)));
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
        for await (const key of driver.list!(prefix)) {
          if (!key.startsWith(RESERVED) && !(await expired(key))) yield key;
        }
      },
    getMany: undefined,
    putMany: undefined,
    deleteMany: undefined,
    async sweep() {
      let removed = 0;
      for await (const meta of driver.list?.(`${RESERVED}/ttl/`) ?? []) {
        if (await expired(meta.slice(RESERVED.length + 5))) removed++;
      }
      return removed;
    },
  };
  return wrapped;
}
