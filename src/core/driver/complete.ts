/**
 * Turns any driver into a complete one: every optional method present, emulated from the
 * required ones where the driver lacks it, so every store behaves the same (the OpenDAL
 * "operator" idea). Emulations trade speed or memory, never behaviour. Part of the store's lazy
 * half (store/lazy-ops.ts): loaded at once for a driver that needs the TTL emulation, else on
 * the first call beyond get, put, delete and exists, whose part is in hot-path.ts.
 */

import { UnsupportedError } from "../errors.js";
import { bytesToStream, sliceBytes } from "../streams/from-bytes.js";
import { mapLimit } from "../streams/map-limit.js";
import { sliceStream } from "../streams/slice-stream.js";
import { concat } from "../streams/to-bytes.js";
import type { ByteRange, Driver, DriverCapabilities, DriverInfo } from "./contract.js";
import { NO_CAPABILITIES } from "./contract.js";
import type { HotDriver } from "./hot-path.js";
import { hotDriver, needsTtlEmulation } from "./hot-path.js";
import { withSidecarTtl } from "./sidecar-ttl.js";

export type CompleteDriver = HotDriver &
  Required<
    Pick<
      Driver,
      "name" | "list" | "info" | "read" | "write" | "getMany" | "putMany" | "deleteMany" | "sweep" | "close" | "url"
    >
  > &
  Pick<Driver, "checksum"> & { readonly capabilities: DriverCapabilities };

/** Parallel calls used by the batch emulations. */
const BATCH_CONCURRENCY = 16;

export function completeDriver(driver: Driver): CompleteDriver {
  const emulateTtl = needsTtlEmulation(driver);
  const base = emulateTtl ? withSidecarTtl(driver) : driver;
  const core = hotDriver(driver, base);
  // `list` is required, but a driver written in JavaScript may still lack it.
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
    // Not through the sidecar TTL emulation, which must see every read.
    checksum: emulateTtl ? undefined : driver.checksum?.bind(driver),
    url:
      base.url?.bind(base) ??
      (async () => {
        throw new UnsupportedError(`the ${driver.name} driver cannot make URLs for keys`);
      }),
  };
}

/**
 * The loaded driver with every method present: completed once per driver, on first need, and
 * kept in `shared` (the store's state). Checked against the loaded driver rather than just
 * cached, since a `close()` may have replaced it. Synchronous, so a call reaches the driver as
 * soon as a hot path would (calls issued together keep their order).
 */
export function completed(shared: { complete?: CompleteDriver | undefined }, core: HotDriver): CompleteDriver {
  const done = shared.complete;
  if (done?.raw === core.raw) return done;
  shared.complete = completeDriver(core.raw);
  return shared.complete;
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
