import type { Compression } from "./compression.js";
import type { Driver, DriverCapabilities } from "./driver/contract.js";
import type { HashAlgorithm } from "./hashing.js";
import type { SchemaLike, Serialization } from "./serialize.js";

export type { Compression, HashAlgorithm, SchemaLike, Serialization };

/** What a store knows about a key (SPEC 3). */
export interface Info {
  /** The key, relative to the store. */
  key: string;
  /** The last segment of the key. */
  name: string;
  /** Bytes stored. */
  size: number;
  /** `null` where the backend keeps no creation time. */
  createdAt: Date | null;
  updatedAt: Date | null;
  /** The stored type, else one guessed from the extension, else `application/octet-stream`. */
  contentType: string;
  etag?: string;
  /** The store's uri. */
  store: string;
  /** The store's uri + "/" + key. */
  uri: string;
}

export interface ListOptions {
  /** A path prefix: `"d"` lists `d/x`, not `dx`, and not `d` itself. */
  prefix?: string;
  /** A plain string prefix on the store-relative key: `"d"` drops `d/x` and `dx`. */
  excludePrefix?: string;
  /** `*`, `**`, `?`, `[...]`, `{a,b}`, matched against the key relative to `prefix`. */
  glob?: string;
}

export interface WatchOptions {
  /** A path prefix: only keys under it (`"d"` watches `d/x`, not `dx`). */
  prefix?: string;
  /** Only keys matching this glob, relative to `prefix` (as in `keys`). */
  glob?: string;
  /** Ends the watch when aborted. */
  signal?: AbortSignal;
}

/**
 * A change (SPEC 11): a key (relative to the store) was written or removed, or `resync`: events
 * may have been missed (a reconnect, an overflow, a polling gap), so list again.
 */
export type WatchEvent = { type: "put" | "delete"; key: string } | { type: "resync" };

/** What `store.watch` returns: the events, and when it listens. */
export interface WatchIterator extends AsyncIterableIterator<WatchEvent> {
  /**
   * Resolves once the watch listens (a write made after it is reported), or once it has ended
   * or failed to start (the error then comes from `next()`). Never rejects.
   */
  readonly ready: Promise<void>;
}

export interface CodecOptions<T = unknown> {
  serialization?: Serialization;
  schema?: SchemaLike<T>;
  /**
   * Compress on write, decompress on read (SPEC 14); overrides the store's `compression`, and
   * `false` reads or writes the stored bytes as they are.
   */
  compression?: Compression | false;
}

export interface GetOptions<T = unknown> extends CodecOptions<T> {
  /** Returned for a missing key instead of throwing; the call then types as `T | typeof default`. */
  default?: unknown;
  /** `false`: a missing key gives `null` instead of `NotFoundError` (the call types as `T | null`). */
  throwOnMissing?: boolean;
}

/** What one stored value reads as under the options `O`: bytes with `serialization: "raw"`, else `T`. */
export type ValueFor<T, O> = O extends { serialization: "raw" } ? Uint8Array : T;

/**
 * What `get` or `pop` resolves to with the options `O`, on a store of `T` whose missing keys give
 * `Missing` (`never` when they throw, `null` with the store option `throwOnMissing: false`):
 * `default` adds its own type, `throwOnMissing: false` adds `null`, `throwOnMissing: true` adds nothing.
 */
export type GetResult<T, Missing, O> =
  | ValueFor<T, O>
  | (O extends { default: infer D }
      ? D
      : O extends { throwOnMissing: false }
        ? null
        : O extends { throwOnMissing: true }
          ? never
          : Missing);

/** The store `createStore` makes with the options `S` (serialization) and `M` (throwOnMissing). */
export type StoreFor<T, S, M> = Store<[S] extends ["raw"] ? Uint8Array : T, [M] extends [false] ? null : never>;

/**
 * What `await using` needs, declared here as @types/node declares it, so these declarations
 * compile with `lib: ["ES2023"]` and no `esnext.disposable` (it merges with that lib where present).
 */
declare global {
  interface SymbolConstructor {
    readonly asyncDispose: unique symbol;
  }
  interface AsyncDisposable {
    [Symbol.asyncDispose](): PromiseLike<void>;
  }
}

export interface PutOptions<T = unknown> extends CodecOptions<T> {
  /** Seconds until the value expires; 0 for never. Defaults to the store's `defaultTtl`. */
  ttl?: number;
  /** Throw `AlreadyExistsError` and change nothing when the key exists. */
  ifNotExists?: boolean;
  /** The MIME type to record where the backend keeps one. */
  contentType?: string;
}

/** `open(key, "r")`: a byte range (end exclusive; of the decompressed bytes with `compression`). */
export interface OpenReadOptions {
  start?: number;
  end?: number;
  compression?: Compression | false;
}

export interface OpenWriteOptions {
  ttl?: number;
  contentType?: string;
  compression?: Compression | false;
}

export interface StoreOptions<T = unknown> {
  /** `"auto"` (default), `"json"` or `"raw"`. */
  serialization?: Serialization;
  /** Custom encoding to bytes (Python's serialization_func). */
  serialize?: (value: T) => Uint8Array | string;
  /** Custom decoding from bytes. */
  deserialize?: (bytes: Uint8Array) => T;
  /** A zod schema: validated on put, parsed on get. */
  schema?: SchemaLike<T>;
  /** @default true */
  throwOnMissing?: boolean;
  /** Seconds; every put without its own `ttl` expires after this. @default 0 (never) */
  defaultTtl?: number;
  /** When false, putting `null`/`undefined` writes nothing. @default true */
  storeNullValues?: boolean;
  /** Every write throws `ReadOnlyError`. @default false */
  readonly?: boolean;
  /** Every key is stored under this prefix. */
  prefix?: string;
  /**
   * Milliseconds between two listings when `watch` polls (drivers without a native change feed,
   * `capabilities().watch` false). @default 1000
   */
  watchInterval?: number;
  /**
   * Compress every value written and decompress every value read (SPEC 14): `"gzip"` (Python
   * anystore's `"gz"`), `"deflate"` or `"deflate-raw"`. `info().size` and `checksum` stay those
   * of the stored bytes.
   */
  compression?: Compression;
  /** Driver options (such as `table`, `client`, `endpoint`) pass through to the driver. */
  [driverOption: string]: unknown;
}

export interface CreateStoreOptions<T = unknown> extends StoreOptions<T> {
  uri?: string;
  /** A ready driver instance; then `uri` only names the store. */
  driver?: Driver;
}

/**
 * The store (SPEC 3): values of type `T` (`unknown` unless a `schema`, `serialization: "raw"` or a
 * type argument says more); `Missing` is what a missing key reads as without options (`never`:
 * `NotFoundError`; `null` for a store made with `throwOnMissing: false`).
 */
export interface Store<T = unknown, Missing = never> extends AsyncDisposable {
  readonly uri: string;
  /** What the backend does natively; the store emulates the rest. Resolves once the driver is loaded. */
  capabilities(): Promise<DriverCapabilities>;
  /**
   * The value of `key`; `NotFoundError` for a missing key unless `default` or `throwOnMissing: false`.
   * @example
   * const note = await store.get("notes/1", { default: null }); // Note | null
   */
  // biome-ignore lint/complexity/noBannedTypes: `{}` is "no options given", so the store's defaults apply
  get<const O extends GetOptions<T> = {}>(key: string, opts?: O): Promise<GetResult<T, Missing, O>>;
  put(
    key: string,
    value: T | Uint8Array | ArrayBuffer | Blob | ReadableStream<Uint8Array> | null | undefined,
    opts?: PutOptions<T>,
  ): Promise<void>;
  /** `get`, then `delete`. */
  // biome-ignore lint/complexity/noBannedTypes: `{}` is "no options given", so the store's defaults apply
  pop<const O extends GetOptions<T> = {}>(key: string, opts?: O): Promise<GetResult<T, Missing, O>>;
  delete(key: string): Promise<void>;
  exists(key: string): Promise<boolean>;
  info(key: string): Promise<Info>;
  checksum(key: string, algorithm?: HashAlgorithm): Promise<string>;
  touch(key: string, opts?: { ttl?: number }): Promise<Date>;
  keys(opts?: ListOptions): AsyncIterableIterator<string>;
  values(opts?: ListOptions): AsyncIterableIterator<T>;
  list(opts?: ListOptions): AsyncIterableIterator<Info>;
  stream(key: string, opts?: CodecOptions<T>): ReadableStream<T>;
  open(key: string, mode?: "r" | "rb", range?: OpenReadOptions): Promise<ReadableStream<Uint8Array>>;
  open(key: string, mode: "w" | "wb", opts?: OpenWriteOptions): Promise<WritableStream<Uint8Array>>;
  /** The values of the keys that exist, keyed as passed (missing keys are left out). */
  // biome-ignore lint/complexity/noBannedTypes: `{}` is "no options given", so the store's defaults apply
  getMany<const O extends CodecOptions<T> = {}>(keys: string[], opts?: O): Promise<Map<string, ValueFor<T, O>>>;
  putMany(entries: Iterable<[string, T]>, opts?: PutOptions<T>): Promise<void>;
  deleteMany(keys: string[]): Promise<void>;
  /** Removes expired values now (they are already invisible); resolves to how many went. */
  sweep(): Promise<number>;
  child(prefix: string): Store<T, Missing>;
  /**
   * A URL that downloads the key's bytes straight from the backend without credentials, valid
   * for `expires` seconds (default 3600): a presigned GET on S3. `UnsupportedError` on drivers
   * that cannot make one. No I/O: a missing key gives a 404 when the URL is fetched.
   */
  url(key: string, opts?: { expires?: number }): Promise<string>;
  /**
   * Changes as they happen (SPEC 11): a `put` or `delete` event for every change of a matching
   * key, by this store or any writer the backend lets it see; `resync` when events may have been
   * missed. Listens from the call on (see `ready`); `break`, `return()`, the signal or `close()`
   * ends it and frees what it held. Polls every `watchInterval` ms where the driver has no feed.
   * @example
   * for await (const event of store.watch({ prefix: "notes" })) console.log(event.type, event.type !== "resync" && event.key);
   */
  watch(opts?: WatchOptions): WatchIterator;
  /** Closes the connection and ends every watch (root stores only; a child's close does nothing). */
  close(): Promise<void>;
}
