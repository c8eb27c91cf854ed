/**
 * Coordination over any store (SPEC 13): `lock`/`withLock`, `queue`, `rateLimit`, `tags`.
 * These are thin entry points: each imports its implementation on first use, so an app that
 * imports the package root pays nothing for them until it coordinates. Options are checked at
 * once (InvalidArgumentError), before anything loads.
 */
import type { ListOptions, Store } from "../types.js";
import { keyPart, positive, positiveInteger } from "./options.js";
import type {
  ConsumeOptions,
  HeldLock,
  LockOptions,
  Queue,
  QueueItem,
  QueueOptions,
  RateLimit,
  RateLimitOptions,
  Tags,
} from "./types.js";

export type {
  ConsumeOptions,
  HeldLock,
  LockOptions,
  Queue,
  QueueItem,
  QueueOptions,
  RateLimit,
  RateLimitOptions,
  Tags,
};

/**
 * Takes the lock at `key` (default `.LOCK`, as Python anystore's `Lock`): one holder at a time
 * where the driver's `ifNotExists` is atomic, freed after `ttl` seconds (default 60) if never
 * released. Waits while it is held, polling with backoff, unless `wait: false`; rejects with
 * `AlreadyExistsError` when held and not waiting, or still held after `timeout` seconds.
 * @example
 * await using held = await lock(store, "jobs/nightly", { ttl: 30 });
 * // ... only one process gets here at a time; `held.renew()` for long work
 */
export async function lock(store: Store<unknown>, key?: string, options?: LockOptions): Promise<HeldLock>;
export async function lock(store: Store<unknown>, options?: LockOptions): Promise<HeldLock>;
export async function lock(
  store: Store<unknown>,
  keyOrOptions?: string | LockOptions,
  options?: LockOptions,
): Promise<HeldLock> {
  return (await import("./lock.js")).lock(store, keyOrOptions, options);
}

/**
 * Runs `fn` while holding the lock at `key` (undefined: `.LOCK`), releasing it afterwards
 * even when `fn` throws; resolves to `fn`'s result. Options as `lock`.
 * @example
 * await withLock(store, "reports", async () => rebuildReports(), { timeout: 10 });
 */
export async function withLock<R>(
  store: Store<unknown>,
  key: string | undefined,
  fn: (held: HeldLock) => R | Promise<R>,
  options?: LockOptions,
): Promise<R> {
  return (await import("./lock.js")).withLock(store, key, fn, options);
}

/**
 * A work queue: items at `<prefix>/<uuid7>` (Python anystore's `Queue` layout), each handed to
 * one consumer at a time and back after `visibility` seconds (default 30) without `ack`.
 * @example
 * const jobs = queue<{ url: string }>(store, { prefix: "jobs" });
 * await jobs.push({ url: "https://example.org" });
 * for await (const job of jobs.consume({ signal })) await fetch(job.value.url);
 */
export function queue<T = unknown>(store: Store<unknown>, options: QueueOptions<T> = {}): Queue<T> {
  keyPart("prefix", options.prefix, "queue");
  positive("visibility", options.visibility, 30);
  let loaded: Promise<Queue<T>> | undefined;
  const real = () => (loaded ??= import("./queue.js").then((m) => m.queue<T>(store, options)));
  return {
    push: async (value: T) => (await real()).push(value),
    take: async (): Promise<QueueItem<T> | null> => (await real()).take(),
    size: async () => (await real()).size(),
    async *consume(opts?: ConsumeOptions) {
      yield* (await real()).consume(opts);
    },
  };
}

/**
 * A rate limit on `resource`, Python anystore's `RateLimit` layout (`rate/<resource>/<slot>`):
 * at most `limit` hits (default 100) per `interval` slots (default 60) of `unit` seconds (default 1).
 * @example
 * const api = rateLimit(store, "github", { limit: 5000, interval: 60, unit: 60 });
 * await api.wait();
 * await api.hit();
 */
export function rateLimit(store: Store<unknown>, resource: string, options: RateLimitOptions = {}): RateLimit {
  const name = keyPart("resource", resource, "");
  positive("limit", options.limit, 100);
  positiveInteger("interval", options.interval, 60);
  positive("unit", options.unit, 1);
  let loaded: Promise<RateLimit> | undefined;
  const real = () => (loaded ??= import("./rate-limit.js").then((m) => m.rateLimit(store, name, options)));
  return {
    resource: name,
    hit: async (n?: number) => (await real()).hit(n),
    count: async () => (await real()).count(),
    check: async () => (await real()).check(),
    wait: async (opts?: { signal?: AbortSignal }) => (await real()).wait(opts),
  };
}

/**
 * Python anystore's `Tags`: the store's reads and writes, `touch(key, fn)` that stores the time
 * `fn` started only once it succeeds, and `deletePrefix(prefix)`.
 * @example
 * const runs = tags(store);
 * await runs.touch("crawl/succeeded", () => crawl()); // nothing stored if crawl() throws
 */
export function tags<T = unknown>(store: Store<T>): Tags<T> {
  const parts = () => import("./tags.js");
  return {
    get: store.get.bind(store),
    put: (key, value, opts) => store.put(key, value, opts),
    pop: store.pop.bind(store),
    exists: (key) => store.exists(key),
    info: (key) => store.info(key),
    delete: (key) => store.delete(key),
    keys: (opts) => store.keys(opts),
    values: (opts) => store.values(opts),
    touch: async (key, fn) => (await parts()).touchOnSuccess(store as Store<unknown>, key, fn),
    deletePrefix: async (prefix: string, opts?: Omit<ListOptions, "prefix">) =>
      (await parts()).deletePrefix(store as Store<unknown>, prefix, opts),
  };
}
