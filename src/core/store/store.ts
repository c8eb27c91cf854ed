import type { DriverCapabilities, WriteOptions } from "../driver/contract.js";
import { storable } from "../driver/local-access.js";
import { InvalidArgumentError } from "../errors.js";
import type { HashAlgorithm } from "../hashing.js";
import { joinKey, normalizePrefix, RESERVED, RESERVED_AREA } from "../keys.js";
import { decodeValue, encodeTextOrBytes, isStreamLike, utf8 } from "../serialize.js";
import { deferredIterator } from "../streams/deferred-iterator.js";
import type {
  CodecOptions,
  GetOptions,
  Info,
  ListOptions,
  OpenReadOptions,
  OpenWriteOptions,
  PutOptions,
  Store,
  WatchIterator,
  WatchOptions,
} from "../types.js";
import type { LazyOps } from "./lazy-loader.js";
import { lazyOps, requireLazyOps } from "./lazy-loader.js";
import type { Shared, StoreContext } from "./state.js";
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
  readyDriver,
  waitForLazyHalf,
  writeOptionsOf,
} from "./state.js";

/**
 * `Store` as the class implements it: `get`, `pop` and `getMany` return what the options ask
 * for at run time, which `Store` spells out per call by type; create.ts and `child` cast to it.
 */
type StoreMethods<T> = Omit<Store<T>, "get" | "pop" | "getMany"> & {
  get(key: string, opts?: GetOptions<T>): Promise<T>;
  pop(key: string, opts?: GetOptions<T>): Promise<T>;
  getMany(keys: string[], opts?: CodecOptions<T>): Promise<Map<string, T>>;
};

/**
 * The store. The hot paths (get, put, delete, exists) live here and, once the driver is
 * loaded, run without extra awaits. Everything else is in lazy-ops.ts, loaded on first use
 * and then called at once: every bundle carries only what a key-value app needs.
 */
export class AnyStore<T = unknown> implements StoreMethods<T> {
  readonly uri: string;
  readonly #c: StoreContext<T>;
  readonly #root: boolean;

  constructor(shared: Shared, prefix = "", root = true) {
    this.uri = prefix === "" ? shared.uri : `${shared.uri.replace(/\/+$/, "")}/${prefix}`;
    this.#c = { store: this as unknown as Store<T>, shared, prefix, uri: this.uri };
    this.#root = root;
  }

  /** Runs an operation of lazy-ops.ts: at once when it is loaded, else once it is (in call order, see state.ts). */
  #lazy<R>(run: (m: LazyOps, c: StoreContext<T>) => Promise<R>): Promise<R> {
    const c = this.#c;
    if (lazyOps) return run(lazyOps, c);
    return waitForLazyHalf(c.shared).then(() => (lazyOps ? run(lazyOps, c) : requireLazyOps().then((m) => run(m, c))));
  }

  capabilities(): Promise<DriverCapabilities> {
    return this.#lazy((m, c) => m.capabilities(c));
  }

  // get and put use try/catch, no closures: the fastest paths allocate nothing of their own.
  async get(key: string, opts?: GetOptions<T>): Promise<T> {
    const c = this.#c;
    // A call's own `compression`, else the store's (`false`: the stored bytes as they are).
    if (opts?.compression ?? c.shared.options.compression) return this.#getCompressed(key, opts);
    const k = fullKey(c, key);
    const d = readyDriver(c.shared) ?? (await loadDriver(c.shared));
    if (d.local) return getLocal(c, d.local, key, k, opts);
    let bytes: Uint8Array | null;
    try {
      bytes = await d.get(k);
    } catch (error) {
      fail(c, error, key);
    }
    if (bytes === null) return missing(c, key, opts);
    try {
      return decodeValue(bytes, codecOf(c, opts), d.sharesBuffers) as T;
    } catch (error) {
      fail(c, error, key);
    }
  }

  async put(key: string, value: unknown, opts?: PutOptions<T>): Promise<void> {
    const c = this.#c;
    checkWritable(c, key);
    const k = fullKey(c, key);
    const write = writeOptionsOf(c, opts);
    if ((value === null || value === undefined) && c.shared.options.storeNullValues === false) return;
    if (opts?.compression ?? c.shared.options.compression) return this.#putCompressed(key, k, value, write, opts);
    if (isStreamLike(value)) return this.#putStream(key, k, value, write);
    const loaded = readyDriver(c.shared);
    let encoded: string | Uint8Array;
    try {
      encoded = encodeTextOrBytes(value, codecOf(c, opts), mustCopy(loaded));
    } catch (error) {
      fail(c, error, key);
    }
    const d = loaded ?? (await loadDriver(c.shared));
    if (write.ifNotExists && !d.capabilities.ifNotExists) return this.#putNew(key, k, encoded, write);
    try {
      if (d.local) d.local.store(k, storable(encoded), write);
      else await d.put(k, typeof encoded === "string" ? utf8(encoded) : encoded, write);
    } catch (error) {
      fail(c, error, key);
    }
  }

  // Methods, not arrows inside put: a closure there would cost put a context object per call.
  #putStream(key: string, k: string, value: ReadableStream<Uint8Array> | Blob, write: WriteOptions): Promise<void> {
    return this.#lazy((m, c) => m.putStream(c, key, k, value, write));
  }

  /** `get` with `compression` (the store's or the call's): in lazy-ops.ts, as every stream codec. */
  #getCompressed(key: string, opts: GetOptions<T> | undefined): Promise<T> {
    return this.#lazy((m, c) => m.getCompressed(c, key, opts));
  }

  #putCompressed(key: string, k: string, value: unknown, write: WriteOptions, opts: PutOptions<T> | undefined) {
    return this.#lazy((m, c) => m.putCompressed(c, key, k, value, write, opts as PutOptions<unknown>));
  }

  /** `ifNotExists` on a driver without an atomic create: emulated in lazy-ops.ts. */
  #putNew(key: string, k: string, encoded: string | Uint8Array, write: WriteOptions): Promise<void> {
    return this.#lazy((m, c) => m.putNew(c, key, k, encoded, write));
  }

  async delete(key: string): Promise<void> {
    const c = this.#c;
    checkWritable(c, key);
    const k = fullKey(c, key);
    const d = readyDriver(c.shared) ?? (await loadDriver(c.shared));
    if (d.local) return d.local.remove(k);
    await d.delete(k).catch((error) => fail(c, error, key));
  }

  async exists(key: string): Promise<boolean> {
    const c = this.#c;
    const k = fullKey(c, key);
    const d = readyDriver(c.shared) ?? (await loadDriver(c.shared));
    return d.has(k).catch((error) => fail(c, error, key));
  }

  pop(key: string, opts?: GetOptions<T>): Promise<T> {
    return this.#lazy((m, c) => m.pop(c, key, opts));
  }

  info(key: string): Promise<Info> {
    return this.#lazy((m, c) => m.info(c, key));
  }

  checksum(key: string, algorithm: HashAlgorithm = "sha256"): Promise<string> {
    return this.#lazy((m, c) => m.checksum(c, key, algorithm));
  }

  touch(key: string, opts?: { ttl?: number }): Promise<Date> {
    return this.#lazy((m, c) => m.touch(c, key, opts));
  }

  keys(opts: ListOptions = {}): AsyncIterableIterator<string> {
    // The hand-made iterator of list.ts; before lazy-ops.ts has loaded, one that waits for it.
    const c = this.#c;
    if (lazyOps) return lazyOps.keys(c, opts);
    return deferredIterator(requireLazyOps().then((m) => m.keys(c, opts)));
  }

  async *values(opts: ListOptions = {}): AsyncIterableIterator<T> {
    yield* (lazyOps ?? (await requireLazyOps())).values(this.#c, opts);
  }

  async *list(opts: ListOptions = {}): AsyncIterableIterator<Info> {
    yield* (lazyOps ?? (await requireLazyOps())).list(this.#c, opts);
  }

  stream(key: string, opts?: CodecOptions<T>): ReadableStream<T> {
    const c = this.#c;
    const codec = codecOf(c, opts);
    let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
    return new ReadableStream<T>({
      pull: async (controller) => {
        reader ??= await this.#lazy((m) => m.lines(c, key, opts?.compression));
        const { done, value } = await reader.read();
        if (done) return controller.close();
        controller.enqueue(attempt(c, () => decodeValue(value, codec) as T, key));
      },
      cancel: (reason) => reader?.cancel(reason),
    });
  }

  open(key: string, mode?: "r" | "rb", range?: OpenReadOptions): Promise<ReadableStream<Uint8Array>>;
  open(key: string, mode: "w" | "wb", opts?: OpenWriteOptions): Promise<WritableStream<Uint8Array>>;
  open(
    key: string,
    mode: string = "r",
    arg?: object,
  ): Promise<ReadableStream<Uint8Array> | WritableStream<Uint8Array>> {
    return this.#lazy((m, c) => m.open(c, key, mode, arg));
  }

  getMany(keys: string[], opts?: CodecOptions<T>): Promise<Map<string, T>> {
    return this.#lazy((m, c) => m.getMany(c, keys, opts));
  }

  putMany(entries: Iterable<[string, T]>, opts?: PutOptions<T>): Promise<void> {
    return this.#lazy((m, c) => m.putMany(c, entries, opts));
  }

  deleteMany(keys: string[]): Promise<void> {
    return this.#lazy((m, c) => m.deleteMany(c, keys));
  }

  sweep(): Promise<number> {
    return this.#lazy((m, c) => m.sweep(c));
  }

  url(key: string, opts: { expires?: number } = {}): Promise<string> {
    return this.#lazy((m, c) => m.url(c, key, opts));
  }

  watch(opts: WatchOptions = {}): WatchIterator {
    // Through a promise even when lazy-ops.ts is loaded: a watch is long-lived, one step is nothing.
    const started = requireLazyOps().then((m) => m.watch(this.#c, opts));
    return Object.assign(deferredIterator(started), {
      ready: started.then(
        (w) => w.ready,
        () => {},
      ),
    });
  }

  child(prefix: string): Store<T> {
    const c = this.#c;
    const normalized = normalizePrefix(prefix, c.uri);
    if (normalized === "") throw new InvalidArgumentError("child() needs a non-empty prefix", { store: c.uri });
    return new AnyStore<T>(c.shared, joinKey(c.prefix, normalized), false) as unknown as Store<T>;
  }

  /** The reserved area `.anystore/<area>` under this store's prefix (see `RESERVED_AREA`); `area` is trusted. */
  [RESERVED_AREA](area: string): Store<T> {
    const c = this.#c;
    return new AnyStore<T>(c.shared, joinKey(c.prefix, `${RESERVED}/${area}`), false) as unknown as Store<T>;
  }

  /** Ends every watch and closes the connection (root stores only; a child's close does nothing). The next call reconnects. */
  async close(): Promise<void> {
    if (!this.#root) return;
    const shared = this.#c.shared;
    const watching = shared.watching;
    shared.watching = undefined;
    for (const end of watching ?? []) end();
    const driver = shared.driver ?? (await shared.loading?.catch(() => undefined));
    shared.driver = shared.loading = shared.waiting = shared.complete = undefined;
    await driver?.raw.close?.();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
