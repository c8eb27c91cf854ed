/**
 * `store.watch` (SPEC 11): the driver's change feed (`Driver.watch`), or the polling emulation
 * (driver/poll-watch.ts) where it has none, turned into store events. Keys are filtered to the
 * store's prefix, the watch's prefix and glob, reserved keys dropped, and made store-relative.
 * Part of the store's lazy half.
 *
 * Buffering is bounded: while the consumer is behind, events wait in a map with one entry per key
 * (a later event of a key replaces the waiting one: the consumer reads the current value, it does
 * not replay history); past `MAX_PENDING` keys they are dropped for one `resync`.
 */

import { completed } from "../driver/complete.js";
import type { DriverWatchEvent } from "../driver/contract.js";
import { InvalidArgumentError, isAnystoreError, withContext } from "../errors.js";
import { isReservedKey, joinKey, normalizePrefix } from "../keys.js";
import type { WatchEvent, WatchIterator, WatchOptions } from "../types.js";
import type { Shared, StoreContext } from "./state.js";
import { loadDriver, readyDriver } from "./state.js";

/** Distinct keys waiting for a slow consumer before they are dropped for one `resync`. */
export const MAX_PENDING = 1024;
export const DEFAULT_WATCH_INTERVAL = 1000;

type Change = "put" | "delete";
type Waiter = { resolve: (result: IteratorResult<WatchEvent>) => void; reject: (error: unknown) => void };

const DONE: IteratorResult<WatchEvent> = { done: true, value: undefined };

/** The events of one watch between the feed and the consumer. */
class EventQueue {
  readonly #pending = new Map<string, Change>();
  #resync = false;
  #waiters: Waiter[] = [];
  #ended = false;
  #error: unknown;

  get ended(): boolean {
    return this.#ended;
  }

  push(event: WatchEvent): void {
    if (this.#ended) return;
    const waiter = this.#waiters.shift();
    if (waiter) waiter.resolve({ done: false, value: event });
    else if (event.type === "resync" || (this.#pending.size >= MAX_PENDING && !this.#pending.has(event.key))) {
      // Everything waiting is covered by the listing the consumer does on resync.
      this.#pending.clear();
      this.#resync = true;
    } else {
      this.#pending.set(event.key, event.type);
    }
  }

  next(): Promise<IteratorResult<WatchEvent>> {
    if (this.#resync) {
      this.#resync = false;
      return Promise.resolve({ done: false, value: { type: "resync" } });
    }
    for (const [key, type] of this.#pending) {
      this.#pending.delete(key);
      return Promise.resolve({ done: false, value: { type, key } });
    }
    if (this.#error !== undefined) {
      const error = this.#error;
      this.#error = undefined;
      return Promise.reject(error);
    }
    if (this.#ended) return Promise.resolve(DONE);
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  /** Ends the queue: waiting calls get done (or the error); events still waiting are dropped unless it failed. */
  end(error?: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    const waiters = this.#waiters.splice(0);
    if (error !== undefined && waiters.length === 0) this.#error = error;
    else this.#pending.clear();
    for (const w of waiters) error !== undefined ? w.reject(error) : w.resolve(DONE);
  }
}

/** The polling interval of a store, checked. */
function watchIntervalOf(c: StoreContext<unknown>): number {
  const interval = c.shared.options.watchInterval ?? DEFAULT_WATCH_INTERVAL;
  if (typeof interval !== "number" || !Number.isFinite(interval) || interval <= 0) {
    throw new InvalidArgumentError(`watchInterval must be a number of milliseconds > 0, got ${String(interval)}`, {
      store: c.uri,
    });
  }
  return interval;
}

/** Ends the watch when the store closes; returns what forgets it. */
function register(shared: Shared, end: () => void): () => void {
  shared.watching ??= new Set();
  const watching = shared.watching;
  watching.add(end);
  return () => watching.delete(end);
}

/** Starts a watch at once (so nothing written after `ready` is missed) and returns its events. */
export function watch(c: StoreContext<unknown>, opts: WatchOptions): WatchIterator {
  const queue = new EventQueue();
  const controller = new AbortController();
  const signal = opts.signal;
  const stop = (error?: unknown) => {
    if (queue.ended) return;
    queue.end(error);
    controller.abort();
    unregister();
    signal?.removeEventListener("abort", onAbort);
  };
  const onAbort = () => stop();
  const unregister = register(c.shared, onAbort);
  signal?.addEventListener("abort", onAbort, { once: true });

  const ready = signal?.aborted
    ? Promise.resolve(stop())
    : listen(c, opts, controller.signal, (event) => queue.push(event)).then(
        () => {},
        (error) => stop(withContext(error, undefined, c.uri)),
      );

  const iterator: WatchIterator = {
    ready,
    next: () => queue.next(),
    async return() {
      stop();
      return DONE;
    },
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}

/** Connects the driver's feed (or the polling emulation) to `push`, filtered and made store-relative. */
async function listen(
  c: StoreContext<unknown>,
  opts: WatchOptions,
  signal: AbortSignal,
  push: (event: WatchEvent) => void,
): Promise<void> {
  const prefix = normalizePrefix(opts.prefix, c.uri);
  const interval = watchIntervalOf(c);
  const match = opts.glob !== undefined ? (await import("../glob.js")).compileGlob(opts.glob) : undefined;
  const base = joinKey(c.prefix, prefix);
  const feedPrefix = base === "" ? "" : `${base}/`;
  const storeCut = c.prefix === "" ? 0 : c.prefix.length + 1;
  const globCut = prefix === "" ? 0 : prefix.length + 1;
  const emit = (event: DriverWatchEvent) => {
    if (event.type === "resync") return push(event);
    const full = event.key;
    if (!full.startsWith(feedPrefix) || full.length === feedPrefix.length || isReservedKey(full)) return;
    const key = full.slice(storeCut);
    if (match && !match(key.slice(globCut))) return;
    push({ type: event.type, key });
  };
  const driver = completed(c.shared, readyDriver(c.shared) ?? (await loadDriver(c.shared)));
  if (signal.aborted) return;
  if (driver.raw.watch) {
    try {
      return await driver.raw.watch(feedPrefix, emit, signal);
    } catch (error) {
      // No feed after all (an HTTP server without events): poll like any driver without one.
      if (signal.aborted || !isAnystoreError(error, "UNSUPPORTED")) throw error;
    }
  }
  const { pollChanges } = await import("../driver/poll-watch.js");
  return pollChanges(driver, feedPrefix, emit, signal, interval);
}
