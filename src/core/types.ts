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
  open(key: string, mode?: "r" | "rb", range?: OpenReadOptions): Promise<ReadableStream<Uint8Array>>;
  open(key: string, mode: "w" | "wb", opts?: OpenWriteOptions): Promise<WritableStream<Uint8Array>>;
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
  close(): Promise<void>;
}
