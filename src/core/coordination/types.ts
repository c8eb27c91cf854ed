/** The public shapes of the coordination helpers (SPEC 13). */
import type { Info, ListOptions, PutOptions, SchemaLike, Store } from "../types.js";

export interface LockOptions {
  /** Seconds until a lock frees itself if its holder never releases it (a crash). @default 60 */
  ttl?: number;
  /** Wait for the lock while another holder has it; false throws `AlreadyExistsError` at once. @default true */
  wait?: boolean;
  /** Seconds to wait at most; then `AlreadyExistsError` (the lock is still held). @default forever */
  timeout?: number;
  /** Aborting stops waiting: the call rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Milliseconds before the first retry while waiting; retries back off to 20 times this, with jitter. @default 50 */
  pollInterval?: number;
}

/** A lock this process holds. */
export interface HeldLock extends AsyncDisposable {
  readonly key: string;
  /** This holder's token: the bytes (UTF-8) stored at `key` while it holds the lock. */
  readonly token: string;
  /**
   * When the lock frees itself unless renewed, by this process's clock: the ttl counted from
   * before the write that took it, so the backend's own expiry comes a little later.
   */
  readonly expiresAt: Date;
  /**
   * Removes the lock if this holder still has it; resolves to whether it did. False when it
   * was released already, has expired or has passed to another holder (whose lock stays).
   */
  release(): Promise<boolean>;
  /** Restarts the ttl (default: the one the lock was taken with) if this holder still has the lock; resolves to whether it did. */
  renew(ttl?: number): Promise<boolean>;
}

export interface QueueOptions<T> {
  /** The items' folder: item `id` is stored at `<prefix>/<id>` (Python's `Queue` over a store at that prefix). @default "queue" */
  prefix?: string;
  /** A zod schema: `push` validates (`ValidationError`, nothing written), `take` parses. */
  schema?: SchemaLike<T>;
  /** Seconds a taken item stays invisible to other consumers without `ack`; then it is delivered again. @default 30 */
  visibility?: number;
}

export interface QueueItem<T> {
  /** The item's id: a UUIDv7, time-sortable. */
  readonly id: string;
  readonly value: T;
  /** Removes the item for good. Safe to call twice. */
  ack(): Promise<void>;
  /** Gives the item back at once (it was not done), for any consumer to take. */
  nack(): Promise<void>;
  /** Keeps the item for `visibility` more seconds (default: the queue's) while this consumer still holds it; resolves to whether it did. */
  extend(visibility?: number): Promise<boolean>;
}

export interface ConsumeOptions {
  /** Ends the iteration (no error) once aborted. */
  signal?: AbortSignal;
  /** Milliseconds between polls of an empty queue at first; backs off to 20 times this, with jitter. @default 100 */
  pollInterval?: number;
}

export interface Queue<T> {
  /** Appends a value; resolves to its id, which sorts after every id pushed before in this process. */
  push(value: T): Promise<string>;
  /** The oldest item no other consumer holds, now held by this one for `visibility` seconds; null when there is none. */
  take(): Promise<QueueItem<T> | null>;
  /**
   * Items as they come, waiting (polling) while the queue is empty, until the signal aborts.
   * An item the loop body neither acked nor nacked is acked when the next one is asked for (as
   * Python's `consume`); leaving the loop by `break` or an error leaves the current item un-acked,
   * so it comes back after `visibility`.
   */
  consume(opts?: ConsumeOptions): AsyncIterableIterator<QueueItem<T>>;
  /** How many items the queue holds, taken ones included until they are acked. */
  size(): Promise<number>;
}

export interface RateLimitOptions {
  /** Hits allowed per window. @default 100 */
  limit?: number;
  /** The window, in slots of `unit` seconds. @default 60 */
  interval?: number;
  /** Seconds per slot. @default 1 */
  unit?: number;
  /** Aborting stops `wait()`, which then rejects with the signal's reason. */
  signal?: AbortSignal;
}

export interface RateLimit {
  readonly resource: string;
  /** Counts `n` hits (default 1) now; resolves to the count in the window, these included. */
  hit(n?: number): Promise<number>;
  /** The count in the window now. */
  count(): Promise<number>;
  /** Whether a hit is allowed now: `count() < limit`. */
  check(): Promise<boolean>;
  /** Resolves once a hit is allowed (it does not hit). */
  wait(opts?: { signal?: AbortSignal }): Promise<void>;
}

/** Python's `Tags`: the store's reads and writes, `touch` on success, and deletion by prefix. */
export interface Tags<T = unknown> {
  /** As `Store.get`: a `default` or `throwOnMissing: false` adds to the type, `serialization: "raw"` reads bytes. */
  get: Store<T>["get"];
  put(key: string, value: T, opts?: PutOptions<T>): Promise<void>;
  pop: Store<T>["pop"];
  exists(key: string): Promise<boolean>;
  info(key: string): Promise<Info>;
  delete(key: string): Promise<void>;
  keys(opts?: ListOptions): AsyncIterableIterator<string>;
  values(opts?: ListOptions): AsyncIterableIterator<T>;
  /**
   * Runs `fn` with the time it starts; when `fn` succeeds, stores that time at `key` (as
   * `store.touch` does) and resolves to `fn`'s result. When it fails, nothing is stored.
   */
  touch<R>(key: string, fn: (startedAt: Date) => R | Promise<R>): Promise<R>;
  /** Deletes every key under `prefix` (a path prefix, as in listing); resolves to how many. */
  deletePrefix(prefix: string, opts?: Omit<ListOptions, "prefix">): Promise<number>;
}
