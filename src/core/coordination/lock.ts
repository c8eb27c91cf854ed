/**
 * A lock over any store (Python anystore's `Lock`, with a ttl and a holder token): the holder is
 * whoever created the key with `put(key, token, { ifNotExists: true, ttl })`. One holder at a
 * time wherever the driver's `ifNotExists` is atomic (`capabilities().ifNotExists`); a crashed
 * holder's lock expires after `ttl`; release and renew compare the token first (atomic.ts).
 *
 * Python's `Lock` only checks that the key exists, so a Python service and this one exclude
 * each other on the same key (`.LOCK` by default), though Python's lock never expires.
 */
import { AlreadyExistsError, isAnystoreError } from "../errors.js";
import type { Store } from "../types.js";
import { atomicOps, compareAndDelete, compareAndRenew, utf8 } from "./atomic.js";
import { newId } from "./ids.js";
import { keyPart, positive } from "./options.js";
import type { HeldLock, LockOptions } from "./types.js";
import { Backoff, waitForChange } from "./waiting.js";

export const DEFAULT_LOCK_KEY = ".LOCK";

/**
 * How long before its expiry a holder stops trusting its lock: renew and release do nothing
 * after that, since without an atomic compare the lock might pass to another holder between
 * the read and the write. A quarter of the ttl, at most 2 s: it must cover one round trip and
 * the drift between this clock and the backend's.
 */
const safetyMargin = (ttlMs: number) => Math.min(2000, ttlMs / 4);

class Held implements HeldLock {
  readonly token: string;
  #bytes: Uint8Array;
  #ttl: number;
  /** Epoch ms: the ttl counted from before the write that set it, so never later than the backend's expiry. */
  #expires: number;
  #released = false;

  constructor(
    readonly store: Store<unknown>,
    readonly key: string,
    token: string,
    ttl: number,
    writtenAfter: number,
  ) {
    this.token = token;
    this.#bytes = utf8(token);
    this.#ttl = ttl;
    this.#expires = writtenAfter + ttl * 1000;
  }

  get expiresAt(): Date {
    return new Date(this.#expires);
  }

  /** Whether a read-compare-write may still run safely (or the store's compare is atomic). */
  #trusted(): boolean {
    if (atomicOps(this.store)) return true;
    return Date.now() < this.#expires - safetyMargin(this.#ttl * 1000);
  }

  async release(): Promise<boolean> {
    if (this.#released) return false;
    if (!this.#trusted()) {
      // Expired or about to: it is gone or goes by itself; touching it might remove a successor's.
      this.#released = true;
      return false;
    }
    const removed = await compareAndDelete(this.store, this.key, this.#bytes);
    this.#released = true;
    return removed;
  }

  async renew(ttl: number = this.#ttl): Promise<boolean> {
    const seconds = positive("ttl", ttl, this.#ttl);
    if (this.#released || !this.#trusted()) return false;
    const before = Date.now();
    const renewed = await compareAndRenew(this.store, this.key, this.#bytes, seconds);
    if (renewed) {
      this.#ttl = seconds;
      this.#expires = before + seconds * 1000;
    }
    return renewed;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.release();
  }
}

/** Reads `lock(store, key?, opts?)` and `lock(store, opts)` alike. */
export function lockArguments(
  keyOrOptions: string | LockOptions | undefined,
  options: LockOptions | undefined,
): [string, LockOptions] {
  if (typeof keyOrOptions === "object" && keyOrOptions !== null) return [DEFAULT_LOCK_KEY, keyOrOptions];
  return [keyPart("key", keyOrOptions, DEFAULT_LOCK_KEY), options ?? {}];
}

/**
 * Takes the lock at `key`, waiting while another holder has it (unless `wait: false`).
 * Rejects with `AlreadyExistsError` when it is held and `wait` is false, or still held after
 * `timeout` seconds; with the signal's reason once aborted; with the store's error (such as
 * `ConnectionError`) when the backend fails.
 */
export async function lock(
  store: Store<unknown>,
  keyOrOptions?: string | LockOptions,
  options?: LockOptions,
): Promise<HeldLock> {
  const [key, opts] = lockArguments(keyOrOptions, options);
  const ttl = positive("ttl", opts.ttl, 60);
  const timeout = positive("timeout", opts.timeout, Number.POSITIVE_INFINITY, true);
  const backoff = new Backoff(positive("pollInterval", opts.pollInterval, 50));
  const deadline = Date.now() + timeout * 1000;
  const token = newId();
  const bytes = utf8(token);
  for (;;) {
    opts.signal?.throwIfAborted();
    const before = Date.now();
    try {
      await store.put(key, bytes, { ifNotExists: true, ttl, serialization: "raw" });
      return new Held(store, key, token, ttl, before);
    } catch (error) {
      if (!isAnystoreError(error, "ALREADY_EXISTS")) throw error;
      if (opts.wait === false)
        throw new AlreadyExistsError(`lock is held: ${key}`, { key, store: store.uri, cause: error });
      const left = deadline - Date.now();
      if (left <= 0)
        throw new AlreadyExistsError(`lock still held after ${timeout} s: ${key}`, {
          key,
          store: store.uri,
          cause: error,
        });
      await waitForChange(store, key, Math.min(backoff.next(), left), opts.signal);
    }
  }
}

/**
 * Runs `fn` while holding the lock at `key` and releases it afterwards, also when `fn` throws;
 * resolves to `fn`'s result. Options as `lock`.
 */
export async function withLock<R>(
  store: Store<unknown>,
  key: string | undefined,
  fn: (held: HeldLock) => R | Promise<R>,
  options?: LockOptions,
): Promise<R> {
  const held = await lock(store, key, options);
  let result: R;
  try {
    result = await fn(held);
  } catch (error) {
    await held.release().catch(() => {}); // fn's error is the one to report; the lock expires anyway
    throw error;
  }
  await held.release();
  return result;
}
