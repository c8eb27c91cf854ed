/**
 * The store's rarely used half, loaded on first use together with the driver (`loadMore` in
 * store.ts), so that an app which only gets and puts never downloads it: the emulations that
 * complete a driver, listing and globs, streams and ranges, `info`, checksums, presigned urls.
 * Once loaded it is cached; the hot paths in store.ts never wait for it again.
 */

import type { CompleteDriver } from "./complete.js";
import type { ByteRange, WriteOptions } from "./driver.js";
import { AlreadyExistsError, InvalidArgumentError } from "./errors.js";
import { lineSplitter } from "./lines.js";
import { pagesOf } from "./list.js";
import { guessContentType } from "./mime.js";
import type { HashAlgorithm } from "./runtime.js";
import { utf8 } from "./serialize.js";
import type { Shared } from "./store-state.js";
import { notFound } from "./store-state.js";
import type { Info, ListOptions, PutOptions, Store } from "./types.js";

export { completeDriver } from "./complete.js";
export { listKeys } from "./list.js";

/** A store's internals, handed over by `AnyStore` (its fields are private). */
export interface StoreContext<T> {
  readonly store: Store<T>;
  readonly uri: string;
  readonly prefix: string;
  readonly shared: Shared;
  driver(): CompleteDriver | Promise<CompleteDriver>;
  /** The full key: normalized, under the store's prefix; `InvalidKeyError` for a bad one. */
  key(key: string): string;
  /** Rethrows with the key and the store's uri. */
  fail(error: unknown, key?: string): never;
  /** Throws `ReadOnlyError` on a readonly store. */
  writable(key?: string): void;
  writeOptions(opts: PutOptions<T> | undefined): WriteOptions;
}

const ALGORITHMS = new Set(["sha256", "sha1", "md5", "sha512"]);
const VALUES_PAGE = 64;
const INFO_CONCURRENCY = 16;

/** The emulated `ifNotExists` (the driver has no atomic one): check, then write. */
export async function refuseExisting(c: StoreContext<unknown>, d: CompleteDriver, key: string, k: string, write: WriteOptions): Promise<void> {
  if (await d.has(k)) throw new AlreadyExistsError(`key already exists: ${key}`, { key, store: c.uri });
  delete write.ifNotExists;
}

export async function putStream(c: StoreContext<unknown>, key: string, k: string, value: ReadableStream<Uint8Array> | Blob, write: WriteOptions): Promise<void> {
  const d = await c.driver();
  const source = value instanceof ReadableStream ? value : value.stream();
  try {
    if (write.ifNotExists) await refuseExisting(c, d, key, k, write);
    const sink = await d.write(k, write);
    await source.pipeTo(sink);
  } catch (error) {
    c.fail(error, key);
  }
}

export async function info(c: StoreContext<unknown>, key: string): Promise<Info> {
  const k = c.key(key);
  const d = await c.driver();
  const found = await d.info(k).catch((error) => c.fail(error, key));
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

export async function checksum(c: StoreContext<unknown>, key: string, algorithm: HashAlgorithm): Promise<string> {
  if (!ALGORITHMS.has(algorithm)) {
    throw new InvalidArgumentError(`unknown checksum algorithm ${JSON.stringify(algorithm)}: use sha256, sha1, md5 or sha512`);
  }
  const d = await c.driver();
  if (d.checksum) {
    const sum = await d.checksum(c.key(key), algorithm).catch((error) => c.fail(error, key));
    if (sum === null) throw notFound(key, c.uri);
    return sum;
  }
  const hasher = await c.shared.runtime.createHasher(algorithm);
  const reader = (await c.store.open(key, "r")).getReader();
  try {
    for (let r = await reader.read(); !r.done; r = await reader.read()) hasher.update(r.value);
  } catch (error) {
    c.fail(error, key);
  }
  return hasher.digest();
}

export async function touch(c: StoreContext<unknown>, key: string, opts: { ttl?: number } | undefined): Promise<Date> {
  c.writable(key);
  const now = new Date();
  const k = c.key(key);
  const write = c.writeOptions(opts);
  const bytes = utf8(c.shared.codec.serialization === "raw" ? now.toISOString() : JSON.stringify(now));
  const d = await c.driver();
  await d.put(k, bytes, write).catch((error) => c.fail(error, key));
  return now;
}

export async function* values<T>(c: StoreContext<T>, opts: ListOptions): AsyncGenerator<T> {
  for await (const page of pagesOf(c.store.keys(opts), VALUES_PAGE)) yield* (await c.store.getMany(page)).values();
}

export async function* list(c: StoreContext<unknown>, opts: ListOptions): AsyncGenerator<Info> {
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
export async function lines(c: StoreContext<unknown>, key: string): Promise<ReadableStreamDefaultReader<Uint8Array>> {
  return (await c.store.open(key, "r")).pipeThrough(lineSplitter()).getReader();
}

export async function open(c: StoreContext<unknown>, key: string, mode: string, arg: object | undefined): Promise<ReadableStream<Uint8Array> | WritableStream<Uint8Array>> {
  if (mode === "r" || mode === "rb") {
    const range = checkRange(arg);
    const k = c.key(key);
    const d = await c.driver();
    const stream = await d.read(k, range).catch((error) => c.fail(error, key));
    if (!stream) throw notFound(key, c.uri);
    return stream;
  }
  if (mode === "w" || mode === "wb") {
    c.writable(key);
    const k = c.key(key);
    const write = c.writeOptions(arg as PutOptions);
    const d = await c.driver();
    return d.write(k, write).catch((error) => c.fail(error, key));
  }
  throw new InvalidArgumentError(`unknown mode ${JSON.stringify(mode)}: use "r" or "w"`, { key, store: c.uri });
}

/** Checks a range and returns it with defaults; throws `InvalidArgumentError` for a bad one. */
function checkRange(range: ByteRange | undefined): ByteRange | undefined {
  if (range === undefined || (range.start === undefined && range.end === undefined)) return undefined;
  const { start = 0, end } = range;
  const bad = (n: number) => !Number.isInteger(n) || n < 0;
  if (bad(start) || (end !== undefined && (bad(end) || end < start))) {
    throw new InvalidArgumentError(`invalid byte range ${JSON.stringify(range)}: use 0 <= start <= end (end exclusive)`);
  }
  return end === undefined ? { start } : { start, end };
}

export async function url(c: StoreContext<unknown>, key: string, opts: { expires?: number }): Promise<string> {
  const expires = opts.expires ?? 3600;
  if (!Number.isInteger(expires) || expires < 1) {
    throw new InvalidArgumentError(`expires must be whole seconds >= 1, got ${String(expires)}`, { key, store: c.uri });
  }
  const k = c.key(key);
  const d = await c.driver();
  return d.url(k, { expires }).catch((error) => c.fail(error, key));
}
