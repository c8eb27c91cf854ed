import type { CompleteDriver } from "./complete.js";
import { completeDriver } from "./complete.js";
import type { Driver, DriverCapabilities, WriteOptions } from "./driver.js";
import {
  AlreadyExistsError,
  InvalidArgumentError,
  NotFoundError,
  ReadOnlyError,
  withContext,
} from "./errors.js";
import { joinKey, normalizeKey, normalizePrefix } from "./keys.js";
import { listKeys, pagesOf } from "./list.js";
import type { Shared } from "./store-state.js";
import { checkTtl } from "./store-state.js";
import { guessContentType } from "./mime.js";
import type { HashAlgorithm, Runtime } from "./runtime.js";
import type { Codec } from "./serialize.js";
import { checkSerialization, decodeValue, encodeTextOrBytes, utf8 } from "./serialize.js";
import type { LocalAccess, StoredValue } from "./local.js";
import { decodeStored, storable } from "./local.js";
import { checkRange, isStreamLike, lineSplitter } from "./streams.js";
import type { CodecOptions, GetOptions, Info, ListOptions, PutOptions, Store, StoreOptions } from "./types.js";

const ALGORITHMS = new Set(["sha256", "sha1", "md5", "sha512"]);
const VALUES_PAGE = 64;
const INFO_CONCURRENCY = 16;

export class AnyStore<T = unknown> implements Store<T> {
  readonly uri: string;
  readonly #shared: Shared;
  readonly #prefix: string;
  readonly #root: boolean;

  constructor(shared: Shared, prefix = "", root = true) {
    this.#shared = shared;
    this.#prefix = prefix;
    this.#root = root;
    this.uri = prefix === "" ? shared.uri : `${shared.uri.replace(/\/+$/, "")}/${prefix}`;
  }

  /** The loaded driver; connects on first use. */
  #driver(): CompleteDriver | Promise<CompleteDriver> {
    const shared = this.#shared;
    if (shared.driver) return shared.driver;
    shared.loading ??= shared.makeDriver().then(
      (driver) => (shared.driver = completeDriver(driver)),
      (error) => {
        shared.loading = undefined;
        throw withContext(error, undefined, shared.uri);
      },
    );
    return shared.loading;
  }

  #key(key: string): string {
    return joinKey(this.#prefix, normalizeKey(key, this.uri));
  }

  #relative(fullKey: string): string {
    return this.#prefix === "" ? fullKey : fullKey.slice(this.#prefix.length + 1);
  }

  #codec(opts: CodecOptions<T> | undefined): Codec {
    if (!opts || (opts.serialization === undefined && opts.schema === undefined)) return this.#shared.codec;
    return {
      ...this.#shared.codec,
      ...(opts.serialization !== undefined && { serialization: checkSerialization(opts.serialization) }),
      ...(opts.schema !== undefined && { schema: opts.schema }),
    };
  }

  #writable(key?: string): void {
    if (this.#shared.options.readonly) throw new ReadOnlyError(`the store ${this.uri} is readonly`, { key, store: this.uri });
  }

  #fail(error: unknown, key?: string): never {
    throw withContext(error, key, this.uri);
  }

  #missing(key: string, opts: GetOptions<T> | undefined): T {
    if (opts && "default" in opts) return opts.default as T;
    if (opts?.throwOnMissing ?? this.#shared.options.throwOnMissing ?? true) {
      throw new NotFoundError(`key does not exist: ${key}`, { key, store: this.uri });
    }
    return null as T;
  }

  async capabilities(): Promise<DriverCapabilities> {
    return { ...(await this.#driver()).capabilities };
  }

  async get(key: string, opts?: GetOptions<T>): Promise<T> {
    const k = this.#key(key);
    const d = this.#shared.driver ?? (await this.#driver());
    if (d.local) return this.#getLocal(d.local, key, k, opts);
    let bytes: Uint8Array | null;
    try {
      bytes = await d.get(k);
    } catch (error) {
      this.#fail(error, key);
    }
    if (bytes === null) return this.#missing(key, opts);
    try {
      return decodeValue(bytes, this.#codec(opts), d.sharesBuffers) as T;
    } catch (error) {
      this.#fail(error, key);
    }
  }

  /** `get` from an in-process driver: no promise hop, and text is decoded from the string it came as. */
  #getLocal(local: LocalAccess, key: string, k: string, opts: GetOptions<T> | undefined): T {
    let found: StoredValue | undefined;
    try {
      found = local.peek(k);
    } catch (error) {
      this.#fail(error, key);
    }
    if (found === undefined) return this.#missing(key, opts);
    try {
      return decodeStored(found, this.#codec(opts)) as T;
    } catch (error) {
      this.#fail(error, key);
    }
  }

  async put(key: string, value: unknown, opts?: PutOptions<T>): Promise<void> {
    this.#writable(key);
    const k = this.#key(key);
    const write = this.#writeOptions(k, opts);
    if (isStreamLike(value)) return this.#putStream(key, k, value, write);
    if ((value === null || value === undefined) && this.#shared.options.storeNullValues === false) return;
    const loaded = this.#shared.driver;
    let encoded: string | Uint8Array;
    try {
      encoded = encodeTextOrBytes(value, this.#codec(opts), mustCopy(loaded));
    } catch (error) {
      this.#fail(error, key);
    }
    const d = loaded ?? (await this.#driver());
    try {
      if (write.ifNotExists && !d.capabilities.ifNotExists) await this.#refuseExisting(d, key, k, write);
      if (d.local) d.local.store(k, storable(encoded), write);
      else await d.put(k, typeof encoded === "string" ? utf8(encoded) : encoded, write);
    } catch (error) {
      this.#fail(error, key);
    }
  }

  #writeOptions(k: string, opts: PutOptions<T> | undefined): WriteOptions {
    const ttl = checkTtl(opts?.ttl ?? this.#shared.options.defaultTtl);
    const write: WriteOptions = {};
    if (ttl > 0) write.ttl = ttl;
    if (opts?.ifNotExists) write.ifNotExists = true;
    if (opts?.contentType) write.contentType = opts.contentType;
    else if (this.#shared.codec.schema || opts?.schema) write.contentType = "application/json";
    return write;
  }

  /** The emulated `ifNotExists` (the driver has no atomic one): check, then write. */
  async #refuseExisting(d: CompleteDriver, key: string, k: string, write: WriteOptions): Promise<void> {
    if (await d.has(k)) throw new AlreadyExistsError(`key already exists: ${key}`, { key, store: this.uri });
    delete write.ifNotExists;
  }

  async #putStream(key: string, k: string, value: ReadableStream<Uint8Array> | Blob, write: WriteOptions): Promise<void> {
    const d = await this.#driver();
    const source = value instanceof ReadableStream ? value : value.stream();
    try {
      if (write.ifNotExists) await this.#refuseExisting(d, key, k, write);
      const sink = await d.write(k, write);
      await source.pipeTo(sink);
    } catch (error) {
      this.#fail(error, key);
    }
  }

  async pop(key: string, opts?: GetOptions<T>): Promise<T> {
    this.#writable(key);
    const k = this.#key(key);
    const d = this.#shared.driver ?? (await this.#driver());
    if (d.local) {
      if (d.local.peek(k) === undefined) return this.#missing(key, opts);
      const value = this.#getLocal(d.local, key, k, opts);
      await d.delete(k).catch((error) => this.#fail(error, key));
      return value;
    }
    const found = await d.get(k).catch((error) => this.#fail(error, key));
    if (found === null) return this.#missing(key, opts);
    let value: T;
    try {
      value = decodeValue(found, this.#codec(opts), d.sharesBuffers) as T;
    } catch (error) {
      this.#fail(error, key);
    }
    await d.delete(k).catch((error) => this.#fail(error, key));
    return value;
  }

  async delete(key: string): Promise<void> {
    this.#writable(key);
    const k = this.#key(key);
    const d = await this.#driver();
    await d.delete(k).catch((error) => this.#fail(error, key));
  }

  async exists(key: string): Promise<boolean> {
    const k = this.#key(key);
    const d = await this.#driver();
    return d.has(k).catch((error) => this.#fail(error, key));
  }

  async info(key: string): Promise<Info> {
    const k = this.#key(key);
    const d = await this.#driver();
    const found = await d.info(k).catch((error) => this.#fail(error, key));
    if (!found) throw new NotFoundError(`key does not exist: ${key}`, { key, store: this.uri });
    const name = key.slice(key.lastIndexOf("/") + 1);
    const relative = this.#relative(k);
    const info: Info = {
      key: relative,
      name: relative.slice(relative.lastIndexOf("/") + 1) || name,
      size: found.size,
      createdAt: found.createdAt ?? null,
      updatedAt: found.updatedAt ?? null,
      contentType: found.contentType || guessContentType(relative),
      store: this.uri,
      uri: `${this.uri.replace(/\/+$/, "")}/${relative}`,
    };
    if (found.etag !== undefined) info.etag = found.etag;
    return info;
  }

  async checksum(key: string, algorithm: HashAlgorithm = "sha256"): Promise<string> {
    if (!ALGORITHMS.has(algorithm)) {
      throw new InvalidArgumentError(`unknown checksum algorithm ${JSON.stringify(algorithm)}: use sha256, sha1, md5 or sha512`);
    }
    const d = await this.#driver();
    if (d.checksum) {
      const sum = await d.checksum(this.#key(key), algorithm).catch((error) => this.#fail(error, key));
      if (sum === null) throw new NotFoundError(`key does not exist: ${key}`, { key, store: this.uri });
      return sum;
    }
    const hasher = await this.#shared.runtime.createHasher(algorithm);
    const stream = await this.open(key, "r");
    const reader = stream.getReader();
    try {
      for (let r = await reader.read(); !r.done; r = await reader.read()) hasher.update(r.value);
    } catch (error) {
      this.#fail(error, key);
    }
    return hasher.digest();
  }

  async touch(key: string, opts?: { ttl?: number }): Promise<Date> {
    this.#writable(key);
    const now = new Date();
    const k = this.#key(key);
    const write = this.#writeOptions(k, opts);
    const { serialization } = this.#shared.codec;
    const bytes = utf8(serialization === "raw" ? now.toISOString() : JSON.stringify(now));
    const d = await this.#driver();
    await d.put(k, bytes, write).catch((error) => this.#fail(error, key));
    return now;
  }

  keys(opts: ListOptions = {}): AsyncIterableIterator<string> {
    return listKeys(() => this.#driver(), this.#prefix, opts, this.uri, (error) => this.#fail(error));
  }

  async *values(opts: ListOptions = {}): AsyncIterableIterator<T> {
    for await (const page of pagesOf(this.keys(opts), VALUES_PAGE)) yield* (await this.getMany(page)).values();
  }

  async *list(opts: ListOptions = {}): AsyncIterableIterator<Info> {
    for await (const page of pagesOf(this.keys(opts), INFO_CONCURRENCY)) {
      const infos = await Promise.all(page.map((key) => this.info(key).catch(skipMissing)));
      yield* infos.filter((info): info is Info => info !== null);
    }
  }

  stream(key: string, opts?: CodecOptions<T>): ReadableStream<T> {
    const codec = this.#codec(opts);
    let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
    return new ReadableStream<T>({
      pull: async (controller) => {
        reader ??= (await this.open(key, "r")).pipeThrough(lineSplitter()).getReader();
        const { done, value } = await reader.read();
        if (done) return controller.close();
        try {
          controller.enqueue(decodeValue(value, codec) as T);
        } catch (error) {
          this.#fail(error, key);
        }
      },
      cancel: (reason) => reader?.cancel(reason),
    });
  }

  open(key: string, mode?: "r" | "rb", range?: { start?: number; end?: number }): Promise<ReadableStream<Uint8Array>>;
  open(key: string, mode: "w" | "wb", opts?: { ttl?: number; contentType?: string }): Promise<WritableStream<Uint8Array>>;
  async open(key: string, mode: string = "r", arg?: object): Promise<ReadableStream<Uint8Array> | WritableStream<Uint8Array>> {
    if (mode === "r" || mode === "rb") {
      const range = checkRange(arg);
      const k = this.#key(key);
      const d = await this.#driver();
      const stream = await d.read(k, range).catch((error) => this.#fail(error, key));
      if (!stream) throw new NotFoundError(`key does not exist: ${key}`, { key, store: this.uri });
      return stream;
    }
    if (mode === "w" || mode === "wb") {
      this.#writable(key);
      const k = this.#key(key);
      const write = this.#writeOptions(k, arg as PutOptions<T>);
      const d = await this.#driver();
      return d.write(k, write).catch((error) => this.#fail(error, key));
    }
    throw new InvalidArgumentError(`unknown mode ${JSON.stringify(mode)}: use "r" or "w"`, { key, store: this.uri });
  }

  async getMany(keys: string[], opts?: CodecOptions<T>): Promise<Map<string, T>> {
    const full = keys.map((key) => this.#key(key));
    const d = this.#shared.driver ?? (await this.#driver());
    const codec = this.#codec(opts);
    const result = new Map<string, T>();
    if (d.local) {
      const local = d.local;
      full.forEach((k, i) => {
        const found = local.peek(k);
        if (found !== undefined) result.set(keys[i]!, this.#decode(() => decodeStored(found, codec), keys[i]!));
      });
      return result;
    }
    const found = await d.getMany(full).catch((error) => this.#fail(error));
    found.forEach((bytes, i) => {
      if (bytes !== null) result.set(keys[i]!, this.#decode(() => decodeValue(bytes, codec, d.sharesBuffers), keys[i]!));
    });
    return result;
  }

  #decode(decode: () => unknown, key: string): T {
    try {
      return decode() as T;
    } catch (error) {
      this.#fail(error, key);
    }
  }

  async putMany(entries: Iterable<[string, T]>, opts?: PutOptions<T>): Promise<void> {
    this.#writable();
    const codec = this.#codec(opts);
    const skipNull = this.#shared.options.storeNullValues === false;
    const loaded = this.#shared.driver;
    const copy = mustCopy(loaded);
    const encoded: Array<[string, string | Uint8Array]> = [];
    for (const [key, value] of entries) {
      const k = this.#key(key);
      if (skipNull && (value === null || value === undefined)) continue;
      try {
        encoded.push([k, encodeTextOrBytes(value, codec, copy)]);
      } catch (error) {
        this.#fail(error, key);
      }
    }
    const write = this.#writeOptions("", opts);
    if (write.ifNotExists) throw new InvalidArgumentError("putMany does not take ifNotExists; use put");
    const d = loaded ?? (await this.#driver());
    if (d.local) {
      try {
        for (const [k, value] of encoded) d.local.store(k, storable(value), write);
      } catch (error) {
        this.#fail(error);
      }
      return;
    }
    const bytes = encoded.map(([k, value]): [string, Uint8Array] => [k, typeof value === "string" ? utf8(value) : value]);
    await d.putMany(bytes, write).catch((error) => this.#fail(error));
  }

  async deleteMany(keys: string[]): Promise<void> {
    this.#writable();
    const full = keys.map((key) => this.#key(key));
    const d = await this.#driver();
    await d.deleteMany(full).catch((error) => this.#fail(error));
  }

  async sweep(): Promise<number> {
    const d = await this.#driver();
    return d.sweep().catch((error) => this.#fail(error));
  }

  async url(key: string, opts: { expires?: number } = {}): Promise<string> {
    const expires = opts.expires ?? 3600;
    if (!Number.isInteger(expires) || expires < 1) {
      throw new InvalidArgumentError(`expires must be whole seconds >= 1, got ${String(expires)}`, { key, store: this.uri });
    }
    const k = this.#key(key);
    const d = await this.#driver();
    return d.url(k, { expires }).catch((error) => this.#fail(error, key));
  }

  child(prefix: string): Store<T> {
    const normalized = normalizePrefix(prefix, this.uri);
    if (normalized === "") throw new InvalidArgumentError("child() needs a non-empty prefix", { store: this.uri });
    return new AnyStore<T>(this.#shared, joinKey(this.#prefix, normalized), false);
  }

  /** Closes the connection (root stores only; a child's close does nothing). The next call reconnects. */
  async close(): Promise<void> {
    if (!this.#root) return;
    const shared = this.#shared;
    const driver = shared.driver ?? (await shared.loading?.catch(() => undefined));
    shared.driver = undefined;
    shared.loading = undefined;
    await driver?.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * Whether `put` copies caller-owned bytes: only for drivers that keep what `put` gets (the
 * in-process side door copies for itself), and while the driver is not loaded yet.
 */
function mustCopy(driver: CompleteDriver | undefined): boolean {
  return driver === undefined || (driver.sharesBuffers && !driver.local);
}

function skipMissing(error: unknown): null {
  if ((error as { code?: string })?.code === "NOT_FOUND") return null;
  throw error;
}
