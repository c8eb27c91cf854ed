/** Waiting for a turn: sleeps that an AbortSignal cuts short, and polling with backoff and jitter. */
import type { Store } from "../types.js";

/** Resolves after `ms`, or rejects with the signal's reason once it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const done = () => {
      signal?.removeEventListener("abort", stop);
      resolve();
    };
    const timer = setTimeout(done, ms);
    const stop = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener("abort", stop, { once: true });
  });
}

/**
 * Poll delays that double from `base` up to `base * 20` ms, each drawn from 50-150% of the
 * current step, so contenders that met once drift apart instead of colliding on every poll.
 */
export class Backoff {
  #step: number;

  constructor(
    readonly base: number,
    readonly max = base * 20,
  ) {
    this.#step = base;
  }

  next(): number {
    const delay = this.#step * (0.5 + Math.random());
    this.#step = Math.min(this.max, this.#step * 2);
    return delay;
  }

  reset(): void {
    this.#step = this.base;
  }
}

/**
 * Waits up to `ms` for `key` (a lock, a queue's items) to change. Today a plain sleep: stores
 * have no change feed yet. This is the one place to wire `store.watch` in (SPEC 11) once it
 * exists, so a released lock or a pushed item wakes its waiters at once; polling then stays as
 * the fallback for `resync` events and for drivers whose watch is emulated.
 */
export function waitForChange(_store: Store<unknown>, _key: string, ms: number, signal?: AbortSignal): Promise<void> {
  return sleep(ms, signal);
}
