/**
 * A store's state, and the steps that store.ts (the hot paths, in every bundle) and
 * lazy-ops.ts (everything else, loaded on first use) share: keys, errors, write options,
 * loading the driver in call order.
 */

import type { CompleteDriver } from "../driver/complete.js";
import type { Driver, WriteOptions } from "../driver/contract.js";
import type { HotDriver } from "../driver/hot-path.js";
import { hotDriver, needsTtlEmulation } from "../driver/hot-path.js";
import type { LocalAccess, StoredValue } from "../driver/local-access.js";
import { decodeStored } from "../driver/local-access.js";
import { InvalidArgumentError, NotFoundError, ReadOnlyError, withContext } from "../errors.js";
import { joinKey, normalizeKey } from "../keys.js";
import type { Runtime } from "../runtime-interface.js";
import type { Codec } from "../serialize.js";
import { checkSerialization } from "../serialize.js";
import type { CodecOptions, GetOptions, PutOptions, Store, StoreOptions } from "../types.js";

/**
 * The store's lazy half (lazy-ops.ts) as the state needs it: to complete a driver. Loads it if
 * needed; rejects when it cannot be. Handed in when the state is made (create.ts passes
 * lazy-loader.ts's `requireLazyOps`) rather than imported, so that the lazy half can import this
 * module without an import cycle.
 */
export type LazyHalf = () => Promise<{ completeDriver(driver: Driver): CompleteDriver }>;

/** State shared by a store and its children: one driver, one connection. */
export interface Shared {
  readonly uri: string;
  readonly runtime: Runtime;
  readonly options: StoreOptions;
  readonly codec: Codec;
  readonly makeDriver: () => Promise<Driver>;
  readonly lazy: LazyHalf;
  /** What the hot paths use; complete already for drivers that need the TTL emulation. */
  driver?: HotDriver | undefined;
  loading?: Promise<HotDriver> | undefined;
  /** Set while calls also wait for the lazy half (`waitForLazyHalf`). */
  waiting?: Promise<HotDriver> | undefined;
  /** Every method present, made on first need (lazy-ops.ts). */
  complete?: CompleteDriver | undefined;
  /** The ends of live watches (watch.ts), called by `close()`. A set, not a signal: a server may hold thousands. */
  watching?: Set<() => void> | undefined;
}

/** One store: the shared state, where its keys live, and the store object itself. */
export interface StoreContext<T = unknown> {
  readonly store: Store<T>;
  readonly shared: Shared;
  readonly prefix: string;
  readonly uri: string;
}

/** A ttl in seconds (0: none), or InvalidArgumentError. */
export function checkTtl(ttl: unknown): number {
  if (ttl === undefined || ttl === null) return 0;
  if (typeof ttl !== "number" || !Number.isFinite(ttl) || ttl < 0) {
    throw new InvalidArgumentError(`ttl must be a number of seconds >= 0, got ${String(ttl)}`);
  }
  return ttl;
}

export function sharedState(
  uri: string,
  runtime: Runtime,
  options: StoreOptions,
  makeDriver: () => Promise<Driver>,
  lazy: LazyHalf,
): Shared {
  checkTtl(options.defaultTtl);
  return {
    uri,
    runtime,
    options,
    makeDriver,
    lazy,
    codec: {
      serialization: checkSerialization(options.serialization ?? "auto"),
      serialize: options.serialize as Codec["serialize"],
      deserialize: options.deserialize,
      schema: options.schema,
    },
    // Present from the start, so the object keeps one shape for the engine's inline caches.
    driver: undefined,
    loading: undefined,
    waiting: undefined,
    complete: undefined,
    watching: undefined,
  };
}

/*
 * Call order. Calls issued together reach the driver in the order they were made (IndexedDB
 * shares one transaction among them and relies on it). Once the driver is loaded, every call
 * reaches it without an await (`readyDriver`). Before that, every call awaits one and the same
 * promise of the driver (`loadDriver`) and goes on at once when it resolves, in the order the
 * awaits were made. A call that needs the lazy half while it is not loaded makes that promise
 * wait for it too (`waitForLazyHalf`), so the calls made after it also wait.
 */

/** The loaded driver, when a call may use it at once. */
export function readyDriver(shared: Shared): HotDriver | undefined {
  return shared.waiting ? undefined : shared.driver;
}

/** The promise of the driver that every call waits for meanwhile; connects on first use. */
export function loadDriver(shared: Shared): Promise<HotDriver> {
  return shared.waiting ?? shared.loading ?? connect(shared);
}

/**
 * Loads the driver. One that needs the TTL emulation is completed at once (every read must pass
 * it); others only when a call needs more than the hot path (hot-path.ts).
 */
function connect(shared: Shared): Promise<HotDriver> {
  shared.loading = shared
    .makeDriver()
    .then(async (driver) => {
      const complete = needsTtlEmulation(driver) ? (await shared.lazy()).completeDriver(driver) : undefined;
      shared.complete = complete;
      shared.driver = complete ?? hotDriver(driver);
      return shared.driver;
    })
    .catch((error) => {
      shared.loading = undefined;
      throw withContext(error, undefined, shared.uri);
    });
  return shared.loading;
}

/** Makes the calls on this state wait for the lazy half as well as for the driver (see above). */
export function waitForLazyHalf(shared: Shared): Promise<HotDriver> {
  if (shared.waiting) return shared.waiting;
  const settle = () => {
    if (shared.waiting === waiting) shared.waiting = undefined;
  };
  // A lazy half that fails to load fails the call that needs it (store.ts asks again), not the calls behind it.
  const waiting: Promise<HotDriver> = Promise.all([loadDriver(shared), shared.lazy().catch(() => {})]).then(
    ([driver]) => {
      settle();
      return driver;
    },
    (error) => {
      settle();
      throw error;
    },
  );
  shared.waiting = waiting;
  return waiting;
}

/** The full key: normalized, under the store's prefix. `InvalidKeyError` for a bad key. */
export function fullKey(c: StoreContext<unknown>, key: string): string {
  return joinKey(c.prefix, normalizeKey(key, c.uri));
}

/** Rethrows as an anystore error that names the key and the store. */
export function fail(c: StoreContext<unknown>, error: unknown, key?: string): never {
  throw withContext(error, key, c.uri);
}

/** Runs a step that may throw (decoding, encoding), adding the key and store to its error. */
export function attempt<R>(c: StoreContext<unknown>, step: () => R, key: string): R {
  try {
    return step();
  } catch (error) {
    fail(c, error, key);
  }
}

export function checkWritable(c: StoreContext<unknown>, key?: string): void {
  if (c.shared.options.readonly) throw new ReadOnlyError(`the store ${c.uri} is readonly`, { key, store: c.uri });
}

/** The store's codec, with a call's own serialization or schema. */
export function codecOf(c: StoreContext<unknown>, opts: CodecOptions<unknown> | undefined): Codec {
  if (!opts || (opts.serialization === undefined && opts.schema === undefined)) return c.shared.codec;
  return {
    ...c.shared.codec,
    ...(opts.serialization !== undefined && { serialization: checkSerialization(opts.serialization) }),
    ...(opts.schema !== undefined && { schema: opts.schema }),
  };
}

export function writeOptionsOf(c: StoreContext<unknown>, opts: PutOptions<unknown> | undefined): WriteOptions {
  const ttl = checkTtl(opts?.ttl ?? c.shared.options.defaultTtl);
  const write: WriteOptions = {};
  if (ttl > 0) write.ttl = ttl;
  if (opts?.ifNotExists) write.ifNotExists = true;
  if (opts?.contentType) write.contentType = opts.contentType;
  else if (c.shared.codec.schema || opts?.schema) write.contentType = "application/json";
  return write;
}

/** The error for a missing key, as `get`, `info` and `open` throw it. */
export function notFound(key: string, store: string): NotFoundError {
  return new NotFoundError(`key does not exist: ${key}`, { key, store });
}

/** What `get` and `pop` give for a missing key: the default, null, or `NotFoundError`. */
export function missing<T>(c: StoreContext<unknown>, key: string, opts: GetOptions<T> | undefined): T {
  if (opts && "default" in opts) return opts.default as T;
  if (opts?.throwOnMissing ?? c.shared.options.throwOnMissing ?? true) throw notFound(key, c.uri);
  return null as T;
}

/** `get` from an in-process driver: no promise hop, and text is decoded from the string it came as. */
export function getLocal<T>(
  c: StoreContext<unknown>,
  local: LocalAccess,
  key: string,
  k: string,
  opts: GetOptions<T> | undefined,
): T {
  // try/catch rather than attempt(): no closure on the fastest path there is.
  let found: StoredValue | undefined;
  try {
    found = local.peek(k);
  } catch (error) {
    fail(c, error, key);
  }
  if (found === undefined) return missing(c, key, opts);
  try {
    return decodeStored(found, codecOf(c, opts)) as T;
  } catch (error) {
    fail(c, error, key);
  }
}

/**
 * Whether `put` copies caller-owned bytes: only for drivers that keep what `put` gets (the
 * in-process side door copies for itself), and while the driver is not loaded yet.
 */
export function mustCopy(driver: HotDriver | undefined): boolean {
  return driver === undefined || (driver.sharesBuffers && !driver.local);
}
