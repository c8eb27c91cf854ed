import type { CompleteDriver } from "./complete.js";
import type { DriverCapabilities, WriteOptions } from "./driver.js";
import { InvalidArgumentError, ReadOnlyError, withContext } from "./errors.js";
import { joinKey, normalizeKey, normalizePrefix } from "./keys.js";
import type { LocalAccess, StoredValue } from "./local.js";
import { decodeStored, storable } from "./local.js";
import type { HashAlgorithm } from "./runtime.js";
import type { Codec } from "./serialize.js";
import { checkSerialization, decodeValue, encodeTextOrBytes, isStreamLike, utf8 } from "./serialize.js";
import type { StoreContext } from "./store-more.js";
import type { Shared } from "./store-state.js";
import { checkTtl, notFound } from "./store-state.js";
import type { CodecOptions, GetOptions, Info, ListOptions, PutOptions, Store } from "./types.js";

/**
 * The rarely used half of the store (emulations, listing, streams, info...), loaded with the
 * driver on first use and kept here: a loaded driver implies a loaded `more`, so hot paths
 * that find `shared.driver` set may use `more!` without waiting.
 */
type More = typeof import("./store-more.js");
let more: More | undefined;
const loadMore = async (): Promise<More> => (more = await import("./store-more.js"));

/**
 * The store. Hot paths (get, put, pop, delete, exists and the batches) live here and, once the
 * driver is loaded, run without extra awaits; the rest delegates to store-more.ts.
 */
export class AnyStore<T = unknown> implements Store<T> {
  readonly uri: string;
  readonly #shared: Shared;
  readonly #prefix: string;
  readonly #root: boolean;
  #ctx: StoreContext<T> | undefined;

  constructor(shared: Shared, prefix = "", root = true) {
    this.#shared = shared;
    this.#prefix = prefix;
    this.#root = root;
    this.uri = prefix === "" ? shared.uri : `${shared.uri.replace(/\/+$/, "")}/${prefix}`;
  }

  /** The loaded driver, completed by store-more.ts; connects on first use. */
  #driver(): CompleteDriver | Promise<CompleteDriver> {
    const shared = this.#shared;
    if (shared.driver) return shared.driver;
    shared.loading ??= Promise.all([shared.makeDriver(), loadMore()]).then(
      ([driver, m]) => (shared.driver = m.completeDriver(driver)),
      (error) => {
        shared.loading = undefined;
        throw withContext(error, undefined, shared.uri);
      },
    );
    return shared.loading;
  }

  /** This store's internals, for the operations in store-more.ts. */
  #context(): StoreContext<T> {
    return (this.#ctx ??= {
      store: this,
      uri: this.uri,
      prefix: this.#prefix,
      shared: this.#shared,
      driver: () => this.#driver(),
      key: (key) => this.#key(key),
      fail: (error, key) => this.#fail(error, key),
      writable: (key) => this.#writable(key),
      writeOptions: (opts) => this.#writeOptions(opts),
    });
  }

  /** Runs a rarely used operation, loading store-more.ts first if needed. */
  async #more<R>(run: (m: More, c: StoreContext<T>) => R | Promise<R>): Promise<R> {
    return run(more ?? (await loadMore()), this.#context());
  }

  #key(key: string): string {
    return joinKey(this.#prefix, normalizeKey(key, this.uri));
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
    if (opts?.throwOnMissing ?? this.#shared.options.throwOnMissing ?? true) throw notFound(key, this.uri);
    return null as T;
  }

  async capabilities(): Promise<DriverCapabilities> {
    return { ...(await this.#driver()).capabilities };
  }

  async get(key: string, opts?: GetOptions<T>): Promise<T> {
    const k = this.#key(key);
    const d = this.#shared.driver ?? (await this.#driver());
    if (d.local) return this.#getLocal(d.local, key, k, opts);
    const bytes = await d.get(k).catch((error) => this.#fail(error, key));
    if (bytes === null) return this.#missing(key, opts);
    return this.#try(() => decodeValue(bytes, this.#codec(opts), d.sharesBuffers), key);
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
    return this.#try(() => decodeStored(found, this.#codec(opts)), key);
  }

  /** Runs a step that may throw (decoding, encoding), adding the key and store to its error. */
  #try(step: () => unknown, key: string): T {
    try {
      return step() as T;
    } catch (error) {
      this.#fail(error, key);
    }
  }

  async put(key: string, value: unknown, opts?: PutOptions<T>): Promise<void> {
    this.#writable(key);
    const k = this.#key(key);
    const write = this.#writeOptions(opts);
    if (isStreamLike(value)) return this.#more((m, c) => m.putStream(c, key, k, value, write));
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
      if (write.ifNotExists && !d.capabilities.ifNotExists) await more!.refuseExisting(this.#context(), d, key, k, write);
      if (d.local) d.local.store(k, storable(encoded), write);
      else await d.put(k, typeof encoded === "string" ? utf8(encoded) : encoded, write);
    } catch (error) {
      this.#fail(error, key);
    }
  }

  #writeOptions(opts: PutOptions<T> | undefined): WriteOptions {
    const ttl = checkTtl(opts?.ttl ?? this.#shared.options.defaultTtl);
    const write: WriteOptions = {};
    if (ttl > 0) write.ttl = ttl;
    if (opts?.ifNotExists) write.ifNotExists = true;
    if (opts?.contentType) write.contentType = opts.contentType;
    else if (this.#shared.codec.schema || opts?.schema) write.contentType = "application/json";
    return write;
  }

  async pop(key: string, opts?: GetOptions<T>): Promise<T> {
    this.#writable(key);
    const k = this.#key(key);
    const d = this.#shared.driver ?? (await this.#driver());
    let value: T;
    if (d.local) {
      if (d.local.peek(k) === undefined) return this.#missing(key, opts);
      value = this.#getLocal(d.local, key, k, opts);
    } else {
      const found = await d.get(k).catch((error) => this.#fail(error, key));
      if (found === null) return this.#missing(key, opts);
      value = this.#try(() => decodeValue(found, this.#codec(opts), d.sharesBuffers), key);
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

  info(key: string): Promise<Info> {
    return this.#more((m, c) => m.info(c, key));
  }

  checksum(key: string, algorithm: HashAlgorithm = "sha256"): Promise<string> {
    return this.#more((m, c) => m.checksum(c, key, algorithm));
  }

  touch(key: string, opts?: { ttl?: number }): Promise<Date> {
    return this.#more((m, c) => m.touch(c, key, opts));
  }

  keys(opts: ListOptions = {}): AsyncIterableIterator<string> {
    return lazyIterator(() => this.#more((m) => m.listKeys(() => this.#driver(), this.#prefix, opts, this.uri, (error) => this.#fail(error))));
  }

  async *values(opts: ListOptions = {}): AsyncIterableIterator<T> {
    yield* (more ?? (await loadMore())).values(this.#context(), opts);
  }

  async *list(opts: ListOptions = {}): AsyncIterableIterator<Info> {
    yield* (more ?? (await loadMore())).list(this.#context(), opts);
  }

  stream(key: string, opts?: CodecOptions<T>): ReadableStream<T> {
    const codec = this.#codec(opts);
    let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
    return new ReadableStream<T>({
      pull: async (controller) => {
        reader ??= await this.#more((m, c) => m.lines(c, key));
        const { done, value } = await reader.read();
        if (done) return controller.close();
        controller.enqueue(this.#try(() => decodeValue(value, codec), key));
      },
      cancel: (reason) => reader?.cancel(reason),
    });
  }

  open(key: string, mode?: "r" | "rb", range?: { start?: number; end?: number }): Promise<ReadableStream<Uint8Array>>;
  open(key: string, mode: "w" | "wb", opts?: { ttl?: number; contentType?: string }): Promise<WritableStream<Uint8Array>>;
  open(key: string, mode: string = "r", arg?: object): Promise<ReadableStream<Uint8Array> | WritableStream<Uint8Array>> {
    return this.#more((m, c) => m.open(c, key, mode, arg));
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
        if (found !== undefined) result.set(keys[i]!, this.#try(() => decodeStored(found, codec), keys[i]!));
      });
      return result;
    }
    const found = await d.getMany(full).catch((error) => this.#fail(error));
    found.forEach((bytes, i) => {
      if (bytes !== null) result.set(keys[i]!, this.#try(() => decodeValue(bytes, codec, d.sharesBuffers), keys[i]!));
    });
    return result;
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
    const write = this.#writeOptions(opts);
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

  url(key: string, opts: { expires?: number } = {}): Promise<string> {
    return this.#more((m, c) => m.url(c, key, opts));
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

/**
 * An async iterator over the one `make` creates on the first `next()` (its code loads lazily).
 * Calls made while it is being made wait, in order; later ones go straight to it, so listing
 * costs no extra promise per key.
 */
function lazyIterator<V>(make: () => Promise<AsyncIterator<V>>): AsyncIterableIterator<V> {
  let inner: AsyncIterator<V> | undefined;
  let making: Promise<AsyncIterator<V>> | undefined;
  let waiting = 0;
  const iterator: AsyncIterableIterator<V> = {
    next() {
      if (inner && waiting === 0) return inner.next();
      waiting++;
      const made = (making ??= make());
      return made.then(
        (it) => {
          waiting--;
          inner = it;
          return it.next();
        },
        (error) => {
          waiting--;
          throw error;
        },
      );
    },
    async return(value?: unknown) {
      await inner?.return?.(value);
      return { done: true, value: undefined };
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}
