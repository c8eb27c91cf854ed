import type { Driver, DriverCapabilities } from "./driver/contract.js";
import type { HashAlgorithm } from "./hashing.js";
import type { SchemaLike, Serialization } from "./serialize.js";

export type { HashAlgorithm, SchemaLike, Serialization };

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
}

export interface GetOptions<T = unknown> extends CodecOptions<T> {
  /** Returned for a missing key instead of throwing. */
  default?: T;
  throwOnMissing?: boolean;
}

export interface PutOptions<T = unknown> extends CodecOptions<T> {
  /** Seconds until the value expires; 0 for never. Defaults to the store's `defaultTtl`. */
  ttl?: number;
  /** Throw `AlreadyExistsError` and change nothing when the key exists. */
  ifNotExists?: boolean;
  /** The MIME type to record where the backend keeps one. */
  contentType?: string;
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
  /** Driver options (such as `table`, `client`, `endpoint`) pass through to the driver. */
  [driverOption: string]: unknown;
}

export interface CreateStoreOptions<T = unknown> extends StoreOptions<T> {
  uri?: string;
  /** A ready driver instance; then `uri` only names the store. */
  driver?: Driver;
}

/** The store (SPEC 3). */
export interface Store<T = unknown> extends AsyncDisposable {
  readonly uri: string;
  /** What the backend does natively; the store emulates the rest. Resolves once the driver is loaded. */
  capabilities(): Promise<DriverCapabilities>;
  get(key: string, opts?: GetOptions<T>): Promise<T>;
  put(
    key: string,
    value: T | Uint8Array | ArrayBuffer | Blob | ReadableStream<Uint8Array> | null | undefined,
    opts?: PutOptions<T>,
  ): Promise<void>;
  pop(key: string, opts?: GetOptions<T>): Promise<T>;
  delete(key: string): Promise<void>;
  exists(key: string): Promise<boolean>;
  info(key: string): Promise<Info>;
  checksum(key: string, algorithm?: HashAlgorithm): Promise<string>;
  touch(key: string, opts?: { ttl?: number }): Promise<Date>;
  keys(opts?: ListOptions): AsyncIterableIterator<string>;
  values(opts?: ListOptions): AsyncIterableIterator<T>;
  list(opts?: ListOptions): AsyncIterableIterator<Info>;
  stream(key: string, opts?: CodecOptions<T>): ReadableStream<T>;
  open(key: string, mode?: "r" | "rb", range?: { start?: number; end?: number }): Promise<ReadableStream<Uint8Array>>;
  open(
    key: string,
    mode: "w" | "wb",
    opts?: { ttl?: number; contentType?: string },
  ): Promise<WritableStream<Uint8Array>>;
  getMany(keys: string[], opts?: CodecOptions<T>): Promise<Map<string, T>>;
  putMany(entries: Iterable<[string, T]>, opts?: PutOptions<T>): Promise<void>;
  deleteMany(keys: string[]): Promise<void>;
  /** Removes expired values now (they are already invisible); resolves to how many went. */
  sweep(): Promise<number>;
  child(prefix: string): Store<T>;
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
