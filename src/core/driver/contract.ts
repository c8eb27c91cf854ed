/**
 * The driver contract: bytes and web streams, nothing else. A driver knows nothing of
 * serialization, schemas, prefixes or readonly; the store does all that and fills in
 * whatever a driver does not do natively (see `completeDriver`).
 *
 * Keys reaching a driver are already normalized and valid (SPEC 5): relative, `/`-separated,
 * no `..`, no reserved `.anystore` segment.
 */

import type { HashAlgorithm } from "../hashing.js";

/** Metadata a driver knows about a stored value. */
export interface DriverInfo {
  size: number;
  createdAt?: Date | null;
  updatedAt?: Date | null;
  contentType?: string;
  etag?: string;
}

export interface WriteOptions {
  /** Seconds until the value expires; absent or 0 for never. Passed only to drivers with `capabilities.ttl`. */
  ttl?: number;
  /**
   * Throw `AlreadyExistsError` when the key exists, writing nothing. Passed only to drivers
   * with `capabilities.ifNotExists`, to `put` and `write` alike (see `Driver.write`).
   */
  ifNotExists?: boolean;
  /** A MIME type to record, where the backend keeps one. */
  contentType?: string;
  /** Aborts a streamed write. */
  signal?: AbortSignal;
}

/** A byte range: `start` inclusive, `end` exclusive, clamped like `Blob.slice`. */
export interface ByteRange {
  start?: number;
  end?: number;
}

/** What a driver does natively. The store emulates everything that is false or absent. */
export interface DriverCapabilities {
  /** Writes are possible at all (false for read-only backends such as plain http). */
  write: boolean;
  /** Keys can be listed. */
  list: boolean;
  /** The driver enforces `ttl` itself (native expiry or its own metadata). Else the store keeps expiry in reserved sidecar keys. */
  ttl: boolean;
  /**
   * `put` and `write` honour `ifNotExists` atomically. Else the store checks first, one create
   * of a key at a time within the store (not atomic across processes or other stores).
   */
  ifNotExists: boolean;
  /** `read`/`write` stream with bounded memory. */
  streams: boolean;
  /** `read` serves byte ranges without reading the whole value. */
  ranges: boolean;
  /** `getMany`/`putMany`/`deleteMany` are single round trips or transactions. */
  batch: boolean;
  /** Keys are paths: a key cannot also be a folder (`a` and `a/b`), which throws `ConflictError`. */
  paths: boolean;
  /** `info` reports a real `createdAt`. */
  createdAt: boolean;
  /** `watch` is a native change feed. Else the store polls listings every `watchInterval` ms (SPEC 11). */
  watch: boolean;
}

/** Keys a driver's `list` yields at once. */
export type KeyPage = string[];

/** A change a driver's feed reports: a driver key (the store filters and strips prefixes), or a gap. */
export type DriverWatchEvent = { type: "put" | "delete"; key: string } | { type: "resync" };

/**
 * A storage backend. Only `get`, `put`, `delete` and `list` are required; a complete driver
 * fits in about 60 lines (see README, "Writing a driver").
 */
export interface Driver {
  /** Short name, such as `"memory"` or `"fs"`. */
  readonly name: string;
  /** What is native; absent entries are false. */
  readonly capabilities: Partial<DriverCapabilities>;
  /**
   * True when the driver keeps the bytes it is given and returns kept bytes from `get` (memory):
   * the store then copies caller-owned bytes before `put` and copies what `get` returns before a
   * caller could mutate it. Other drivers may get the caller's own buffer in `put`: they must be
   * done reading it when the returned promise settles, and must not keep it.
   */
  readonly sharesBuffers?: boolean;
  /** The bytes, or `null` when missing (or expired, for drivers with native ttl). */
  get(key: string): Promise<Uint8Array | null>;
  /** Stores bytes under the key, replacing any value. */
  put(key: string, value: Uint8Array, opts: WriteOptions): Promise<void>;
  /** Removes the key; a missing key is not an error. */
  delete(key: string): Promise<void>;
  /**
   * Yields every key under `prefix` (`""` or ending in `/`), in any order, as pages: arrays of
   * keys, as many per page as the backend hands over at once (the store filters a page in one
   * pass and takes ownership of the array). A single key (a string) is taken as a page of one,
   * the older form, which costs a promise step per key. Reserved keys and names the store
   * could not read back may be yielded; the store drops them. A backend that cannot list (a
   * plain web server) still has it, throwing `UnsupportedError`, and declares `capabilities.list: false`.
   */
  list(prefix: string): AsyncIterable<KeyPage | string>;
  has?(key: string): Promise<boolean>;
  info?(key: string): Promise<DriverInfo | null>;
  /** A stream of the bytes (or a range), or `null` when missing. */
  read?(key: string, range?: ByteRange): Promise<ReadableStream<Uint8Array> | null>;
  /**
   * A writable whose data becomes visible atomically on close; abort leaves the old value.
   * With `ifNotExists` (drivers with `capabilities.ifNotExists`), the close is an atomic create:
   * when the key exists by then, it rejects with `AlreadyExistsError`, the old value stays and
   * no temporary data is left behind.
   */
  write?(key: string, opts: WriteOptions): Promise<WritableStream<Uint8Array>>;
  /** Values in the order of `keys`, `null` for missing ones. */
  getMany?(keys: string[]): Promise<Array<Uint8Array | null>>;
  putMany?(entries: Array<[string, Uint8Array]>, opts: WriteOptions): Promise<void>;
  deleteMany?(keys: string[]): Promise<void>;
  /** Removes expired values now; resolves to how many went. */
  sweep?(): Promise<number>;
  close?(): Promise<void>;
  /** A URL that serves the key's bytes straight from the backend (S3: a presigned GET), valid for `expires` seconds. */
  url?(key: string, opts: { expires: number }): Promise<string>;
  /**
   * A native change feed (drivers with `capabilities.watch`): calls `emit` for every change of a
   * key under `prefix` (`""` or ending in `/`), made here or by any writer the backend lets it
   * observe, until `signal` aborts; then it frees everything it held (listeners, connections,
   * timers). Resolves once it listens, so a write made after that is reported. Reserved keys may be
   * reported; the store drops them. `resync` says events may have been missed. Rejecting with
   * `UnsupportedError` (a server found to have no feed) makes the store poll instead.
   */
  watch?(prefix: string, emit: (event: DriverWatchEvent) => void, signal: AbortSignal): Promise<void>;
  /**
   * The value's hex checksum, computed where the bytes are (an anystore server answers
   * `HEAD ?checksum=true`), or `null` when missing. Without it the store hashes the stream.
   */
  checksum?(key: string, algorithm: HashAlgorithm): Promise<string | null>;
}

/** A function that makes a driver from a uri and the store's options. */
export type DriverFactory = (uri: string, options: Record<string, unknown>) => Driver | Promise<Driver>;

export const NO_CAPABILITIES: DriverCapabilities = {
  write: true,
  list: true,
  ttl: false,
  ifNotExists: false,
  streams: false,
  ranges: false,
  batch: false,
  paths: false,
  createdAt: false,
  watch: false,
};
