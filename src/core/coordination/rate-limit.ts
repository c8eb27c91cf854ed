/**
 * A rate limit over any store, in Python anystore's layout (`RateLimit`, after servicelayer):
 * time is cut into slots of `unit` seconds, and `rate/<resource>/<slot>` holds the number of
 * hits in the window that ends with that slot. A hit adds to the current slot and the
 * `interval - 1` after it, so reading the count is one `get`, and a Python `RateLimit` and
 * this one read and write the same counts.
 *
 * Python reads, adds and writes without a lock, so concurrent hits can overwrite each other.
 * Here a hit holds the lock `rate/<resource>/.LOCK` while it reads and writes the slots (one
 * `getMany`, one `putMany`), so hits from any number of processes all count. The slot keys
 * get a ttl of the window plus a slot, so none outlives its use (Python's never expire).
 * Slots come from this machine's clock: processes whose clocks disagree by more than a slot
 * count into different slots.
 */
import type { Store } from "../types.js";
import { withLock } from "./lock.js";
import { keyPart, positive, positiveInteger } from "./options.js";
import type { RateLimit, RateLimitOptions } from "./types.js";
import { sleep } from "./waiting.js";

/** Seconds a crashed hitter can block the others; a hit is two round trips plus the lock's. */
const LOCK_TTL = 15;
const LOCK_POLL_MS = 10;

/** A stored count: Python writes ints (read back as numbers, or as digit strings). */
const countOf = (value: unknown): number => {
  const n = typeof value === "number" ? value : typeof value === "string" ? Number(value) : Number.NaN;
  return Number.isFinite(n) ? n : 0;
};

export class StoreRateLimit implements RateLimit {
  readonly resource: string;
  readonly limit: number;
  readonly interval: number;
  readonly unit: number;
  readonly signal: AbortSignal | undefined;

  constructor(
    readonly store: Store<unknown>,
    resource: string,
    options: RateLimitOptions = {},
  ) {
    this.resource = keyPart("resource", resource, "");
    this.limit = positive("limit", options.limit, 100);
    this.interval = positiveInteger("interval", options.interval, 60);
    this.unit = positive("unit", options.unit, 1);
    this.signal = options.signal;
  }

  #slot(now = Date.now()): number {
    return Math.floor(now / 1000 / this.unit);
  }

  #key(slot: number): string {
    return `rate/${this.resource}/${slot}`;
  }

  async hit(n = 1): Promise<number> {
    const amount = positive("n", n, 1, true);
    return withLock(
      this.store,
      `rate/${this.resource}/.LOCK`,
      async () => {
        const first = this.#slot();
        const keys = Array.from({ length: this.interval }, (_, i) => this.#key(first + i));
        const counts = await this.store.getMany(keys, { serialization: "auto" });
        const entries = keys.map((key): [string, number] => [key, countOf(counts.get(key)) + amount]);
        await this.store.putMany(entries, { serialization: "json", ttl: (this.interval + 1) * this.unit });
        return entries[0]![1];
      },
      { ttl: LOCK_TTL, pollInterval: LOCK_POLL_MS, ...(this.signal && { signal: this.signal }) },
    );
  }

  async count(): Promise<number> {
    return countOf(await this.store.get(this.#key(this.#slot()), { default: 0, serialization: "auto" }));
  }

  async check(): Promise<boolean> {
    return (await this.count()) < this.limit;
  }

  async wait(opts: { signal?: AbortSignal } = {}): Promise<void> {
    const signal = opts.signal ?? this.signal;
    while (!(await this.check())) {
      // The count can only drop when a slot ends: sleep to the next boundary (plus jitter, so waiters spread out).
      const nextSlotAt = (this.#slot() + 1) * this.unit * 1000;
      await sleep(Math.max(1, nextSlotAt - Date.now()) + Math.random() * 20, signal);
    }
  }
}

/** A rate limit on `resource` (see the file comment for the layout). */
export function rateLimit(store: Store<unknown>, resource: string, options?: RateLimitOptions): RateLimit {
  return new StoreRateLimit(store, resource, options);
}
