/**
 * The store's less used half, imported on its first use (lazy-loader.ts) and then called at
 * once: pop, batches, listing and globs, streams and ranges, `info`, checksums, `touch`,
 * `sweep`, presigned urls, `watch` (watch.ts), and the completion of drivers (driver/complete.ts). An app that only
 * gets and puts, on a driver that needs no TTL emulation, never downloads it.
 */

import type { CompleteDriver } from "../driver/complete.js";
import { completeDriver, completed } from "../driver/complete.js";
import type { ByteRange, DriverCapabilities, WriteOptions } from "../driver/contract.js";
import type { HotDriver } from "../driver/hot-path.js";
import { decodeStored, storable } from "../driver/local-access.js";
import { InvalidArgumentError } from "../errors.js";
import { HASH_ALGORITHMS, type HashAlgorithm, isHashAlgorithm } from "../hashing.js";
import { guessContentType } from "../mime.js";
import { decodeValue, encodeTextOrBytes, utf8 } from "../serialize.js";
import { lineSplitter } from "../streams/lines.js";
import type { CodecOptions, GetOptions, Info, ListOptions, PutOptions } from "../types.js";
import { createNew } from "./create-new.js";
import { listKeys, pagesOf } from "./list.js";
import type { StoreContext } from "./state.js";
import {
  attempt,
  checkWritable,
  codecOf,
  fail,
  fullKey,
  getLocal,
  loadDriver,
  missing,
  mustCopy,
  notFound,
  readyDriver,
  writeOptionsOf,
} from "./state.js";

export { watch } from "./watch.js";
export { completeDriver };

type Context = StoreContext<unknown>;

const VALUES_PAGE = 64;
const INFO_CONCURRENCY = 16;

/**
 * Runs `use` on the driver: at once, without an await, when it is loaded; else right after the
 * one promise every call waits for. Either way calls issued together reach the driver in the
 * order they were made (see state.ts). Errors of `use` are its own to map: a failed load
 * already names the store.
 */
async function withDriver<R>(c: Context, use: (d: HotDriver) => R | Promise<R>): Promise<R> {
  return use(readyDriver(c.shared) ?? (await loadDriver(c.shared)));
}

/** `withDriver`, with every method of the driver present (driver/complete.ts). */
function withComplete<R>(c: Context, use: (d: CompleteDriver) => R | Promise<R>): Promise<R> {
  return withDriver(c, (d) => use(completed(c.shared, d)));
}

export function capabilities(c: Context): Promise<DriverCapabilities> {
  return withComplete(c, (d) => ({ ...d.capabilities }));
}

/**
 * `put` of a stream or Blob. `ifNotExists` reaches a driver that creates atomically (its
 * `write` refuses an existing key on close, writing nothing); others get the emulation.
 */
export function putStream(
  c: Context,
  key: string,
  k: string,
  value: ReadableStream<Uint8Array> | Blob,
  write: WriteOptions,
): Promise<void> {
  return withComplete(c, async (d) => {
    const source = value instanceof ReadableStream ? value : value.stream();
    const pipe = async (opts: WriteOptions) => source.pipeTo(await d.write(k, opts));
    try {
      await (write.ifNotExists && !d.capabilities.ifNotExists ? createNew(c, d, key, k, write, pipe) : pipe(write));
    } catch (error) {
      // Refused before it was read (the key exists): let the source go.
      if (!source.locked) source.cancel(error).catch(() => {});
      fail(c, error, key);
    }
  });
}

/** `put` of encoded bytes with `ifNotExists`, on a driver without an atomic create. */
export function putNew(
  c: Context,
  key: string,
  k: string,
  encoded: string | Uint8Array,
  write: WriteOptions,
): Promise<void> {
  return withDriver(c, (d) => {
    const save = async (opts: WriteOptions) => {
      // As put does: the side door copies what it keeps, `encoded` may be the caller's own bytes.
      if (d.local) d.local.store(k, storable(encoded), opts);
      else await d.put(k, typeof encoded === "string" ? utf8(encoded) : encoded, opts);
    };
    return createNew(c, d, key, k, write, save).catch((error) => fail(c, error, key));
  });
}

export async function pop<T>(c: Context, key: string, opts: GetOptions<T> | undefined): Promise<T> {
  checkWritable(c, key);
  const k = fullKey(c, key);
  return withDriver(c, async (d) => {
    let value: T;
    if (d.local) {
      if (d.local.peek(k) === undefined) return missing(c, key, opts);
      value = getLocal(c, d.local, key, k, opts);
    } else {
      const found = await d.get(k).catch((error) => fail(c, error, key));
      if (found === null) return missing(c, key, opts);
      value = attempt(c, () => decodeValue(found, codecOf(c, opts), d.sharesBuffers) as T, key);
    }
    await d.delete(k).catch((error) => fail(c, error, key));
    return value;
  });
}

export async function info(c: Context, key: string): Promise<Info> {
  const k = fullKey(c, key);
  const found = await withComplete(c, (d) => d.info(k).catch((error) => fail(c, error, key)));
  if (!found) throw notFound(key, c.uri);
  const name = key.slice(key.lastIndexOf("/") + 1);
  const relative = c.prefix === "" ? k : k.slice(c.prefix.length + 1);
  const info: Info = {
    key: relative,
    name: relative.slice(relative.lastIndexOf("/") + 1) || name,
    size: found.size,
    createdAt: found.createdAt ?? null,
    updatedAt: found.updatedAt ?? null,
    contentType: found.contentType || guessContentType(relative),
    store: c.uri,
    uri: `${c.uri.replace(/\/+$/, "")}/${relative}`,
  };
  if (found.etag !== undefined) info.etag = found.etag;
  return info;
}

export async function checksum(c: Context, key: string, algorithm: HashAlgorithm): Promise<string> {
  if (!isHashAlgorithm(algorithm)) {
    throw new InvalidArgumentError(
      `unknown checksum algorithm ${JSON.stringify(algorithm)}: use ${HASH_ALGORITHMS.slice(0, -1).join(", ")} or ${HASH_ALGORITHMS.at(-1)}`,
    );
  }
  // Where the bytes are, when the driver can (undefined: it cannot, null: the key is missing).
  const sum = await withComplete(c, (d) =>
    d.checksum?.(fullKey(c, key), algorithm).catch((error) => fail(c, error, key)),
  );
  if (sum === null) throw notFound(key, c.uri);
  if (sum !== undefined) return sum;
  const hasher = await c.shared.runtime.createHasher(algorithm);
  const reader = (await c.store.open(key, "r")).getReader();
  try {
    for (let r = await reader.read(); !r.done; r = await reader.read()) hasher.update(r.value);
  } catch (error) {
    fail(c, error, key);
  }
  return hasher.digest();
}

export async function touch(c: Context, key: string, opts: { ttl?: number } | undefined): Promise<Date> {
  checkWritable(c, key);
  const now = new Date();
  const k = fullKey(c, key);
  const write = writeOptionsOf(c, opts);
  const bytes = utf8(c.shared.codec.serialization === "raw" ? now.toISOString() : JSON.stringify(now));
  await withDriver(c, (d) => d.put(k, bytes, write).catch((error) => fail(c, error, key)));
  return now;
}

export function keys(c: Context, opts: ListOptions): AsyncIterableIterator<string> {
  return listKeys(c, opts);
}

export async function* values<T>(c: StoreContext<T>, opts: ListOptions): AsyncGenerator<T> {
  for await (const page of pagesOf(c.store.keys(opts), VALUES_PAGE)) yield* (await c.store.getMany(page)).values();
}

export async function* list(c: Context, opts: ListOptions): AsyncGenerator<Info> {
  for await (const page of pagesOf(c.store.keys(opts), INFO_CONCURRENCY)) {
    const infos = await Promise.all(page.map((key) => c.store.info(key).catch(skipMissing)));
    yield* infos.filter((info): info is Info => info !== null);
  }
}

function skipMissing(error: unknown): null {
  if ((error as { code?: string })?.code === "NOT_FOUND") return null;
  throw error;
}

/** The key's bytes as lines, for `store.stream`. */
export async function lines(c: Context, key: string): Promise<ReadableStreamDefaultReader<Uint8Array>> {
  return (await c.store.open(key, "r")).pipeThrough(lineSplitter()).getReader();
}

export async function open(
  c: Context,
  key: string,
  mode: string,
  arg: object | undefined,
): Promise<ReadableStream<Uint8Array> | WritableStream<Uint8Array>> {
  if (mode === "r" || mode === "rb") {
    const range = checkRange(arg);
    const k = fullKey(c, key);
    const stream = await withComplete(c, (d) => d.read(k, range).catch((error) => fail(c, error, key)));
    if (!stream) throw notFound(key, c.uri);
    return stream;
  }
  if (mode === "w" || mode === "wb") {
    checkWritable(c, key);
    const k = fullKey(c, key);
    const write = writeOptionsOf(c, arg as PutOptions);
    return withComplete(c, (d) => {
      // Not an option of open (SPEC 3); passed on only where the driver's write honours it.
      if (!d.capabilities.ifNotExists) delete write.ifNotExists;
      return d.write(k, write).catch((error) => fail(c, error, key));
    });
  }
  throw new InvalidArgumentError(`unknown mode ${JSON.stringify(mode)}: use "r" or "w"`, { key, store: c.uri });
}

/** Checks a range and returns it with defaults; throws `InvalidArgumentError` for a bad one. */
function checkRange(range: ByteRange | undefined): ByteRange | undefined {
  if (range === undefined || (range.start === undefined && range.end === undefined)) return undefined;
  const { start = 0, end } = range;
  const bad = (n: number) => !Number.isInteger(n) || n < 0;
  if (bad(start) || (end !== undefined && (bad(end) || end < start))) {
    throw new InvalidArgumentError(
      `invalid byte range ${JSON.stringify(range)}: use 0 <= start <= end (end exclusive)`,
    );
  }
  return end === undefined ? { start } : { start, end };
}

export async function getMany<T>(
  c: Context,
  keys: string[],
  opts: CodecOptions<T> | undefined,
): Promise<Map<string, T>> {
  const full = keys.map((key) => fullKey(c, key));
  return withDriver(c, async (core) => {
    const codec = codecOf(c, opts);
    const result = new Map<string, T>();
    const local = core.local;
    if (local) {
      full.forEach((k, i) => {
        const found = local.peek(k);
        if (found !== undefined)
          result.set(
            keys[i]!,
            attempt(c, () => decodeStored(found, codec) as T, keys[i]!),
          );
      });
      return result;
    }
    const d = completed(c.shared, core);
    const found = await d.getMany(full).catch((error) => fail(c, error));
    found.forEach((bytes, i) => {
      if (bytes !== null)
        result.set(
          keys[i]!,
          attempt(c, () => decodeValue(bytes, codec, d.sharesBuffers) as T, keys[i]!),
        );
    });
    return result;
  });
}

export async function putMany<T>(
  c: Context,
  entries: Iterable<[string, T]>,
  opts: PutOptions<T> | undefined,
): Promise<void> {
  checkWritable(c);
  const codec = codecOf(c, opts);
  const skipNull = c.shared.options.storeNullValues === false;
  const copy = mustCopy(readyDriver(c.shared));
  const encoded: Array<[string, string | Uint8Array]> = [];
  for (const [key, value] of entries) {
    const k = fullKey(c, key);
    if (skipNull && (value === null || value === undefined)) continue;
    try {
      encoded.push([k, encodeTextOrBytes(value, codec, copy)]);
    } catch (error) {
      fail(c, error, key);
    }
  }
  const write = writeOptionsOf(c, opts);
  if (write.ifNotExists) throw new InvalidArgumentError("putMany does not take ifNotExists; use put");
  // Encoding above never awaits: the driver is loaded now exactly when it was for `copy`.
  return withDriver(c, (core) => {
    if (core.local) {
      try {
        for (const [k, value] of encoded) core.local.store(k, storable(value), write);
      } catch (error) {
        fail(c, error);
      }
      return;
    }
    const bytes = encoded.map(([k, value]): [string, Uint8Array] => [
      k,
      typeof value === "string" ? utf8(value) : value,
    ]);
    return completed(c.shared, core)
      .putMany(bytes, write)
      .catch((error) => fail(c, error));
  });
}

export async function deleteMany(c: Context, keys: string[]): Promise<void> {
  checkWritable(c);
  const full = keys.map((key) => fullKey(c, key));
  return withComplete(c, (d) => d.deleteMany(full).catch((error) => fail(c, error)));
}

export function sweep(c: Context): Promise<number> {
  return withComplete(c, (d) => d.sweep().catch((error) => fail(c, error)));
}

export async function url(c: Context, key: string, opts: { expires?: number }): Promise<string> {
  const expires = opts.expires ?? 3600;
  if (!Number.isInteger(expires) || expires < 1) {
    throw new InvalidArgumentError(`expires must be whole seconds >= 1, got ${String(expires)}`, { key, store: c.uri });
  }
  const k = fullKey(c, key);
  return withComplete(c, (d) => d.url(k, { expires }).catch((error) => fail(c, error, key)));
}
