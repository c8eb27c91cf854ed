import type { Driver, DriverInfo, WriteOptions } from "../../core/driver.js";
import { AlreadyExistsError } from "../../core/errors.js";

export const DRIVER_NAME = "memory";

export interface MemoryDriverOptions {
  /**
   * Share one map per name within the process or page (`memory://NAME`); unnamed maps are private.
   * @default undefined
   */
  name?: string;
}

interface Entry {
  value: Uint8Array;
  createdAt: number;
  updatedAt: number;
  /** Epoch ms; 0 for never. */
  expiresAt: number;
  contentType?: string | undefined;
}

/** The entries and their expiry bookkeeping; shared by every store of one name. */
class MemoryState {
  readonly entries = new Map<string, Entry>();
  /** Keys that carry a ttl: the sweep visits only these, so it never scans the whole map. */
  readonly expiring = new Set<string>();
  #timer: ReturnType<typeof setTimeout> | undefined;

  live(key: string): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry && entry.expiresAt !== 0 && entry.expiresAt <= Date.now()) {
      this.remove(key);
      return undefined;
    }
    return entry;
  }

  remove(key: string): void {
    this.entries.delete(key);
    this.expiring.delete(key);
  }

  set(key: string, entry: Entry): void {
    this.entries.set(key, entry);
    if (entry.expiresAt === 0) {
      this.expiring.delete(key);
      return;
    }
    this.expiring.add(key);
    this.#schedule(entry.expiresAt);
  }

  /** Removes every expired entry now. */
  sweep(): number {
    const now = Date.now();
    let removed = 0;
    let next = Infinity;
    for (const key of this.expiring) {
      const expiresAt = this.entries.get(key)?.expiresAt ?? 0;
      if (expiresAt <= now) {
        this.remove(key);
        removed++;
      } else next = Math.min(next, expiresAt);
    }
    this.#timer = undefined;
    if (next !== Infinity) this.#schedule(next);
    return removed;
  }

  /** One timer for the earliest expiry, so memory of never-read keys is reclaimed; it never keeps Node alive. */
  #schedule(at: number): void {
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(() => this.sweep(), Math.max(at - Date.now(), 0) + 10);
    (this.#timer as { unref?: () => void }).unref?.();
  }

  clearTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

const named = new Map<string, MemoryState>();

/** The name in `memory://NAME`, or undefined for a private map. */
function nameOf(uri: string | undefined): string | undefined {
  const name = uri?.replace(/^memory:\/\//i, "").replace(/\/+$/, "");
  return name || undefined;
}

/**
 * Keeps values in a `Map` within the process or page. The store copies caller buffers in
 * and out, so callers can reuse theirs. TTL is exact on read and reclaimed by a timer.
 * @example
 * const store = createStore({ driver: memoryDriver() });
 */
export function memoryDriver(opts: MemoryDriverOptions = {}): Driver {
  const state = opts.name ? named.get(opts.name) ?? new MemoryState() : new MemoryState();
  if (opts.name) named.set(opts.name, state);
  const write = (key: string, value: Uint8Array, o: WriteOptions) => {
    const now = Date.now();
    const old = state.live(key);
    if (old && o.ifNotExists) throw new AlreadyExistsError(`key already exists: ${key}`, { key });
    state.set(key, {
      value,
      createdAt: old?.createdAt ?? now,
      updatedAt: now,
      expiresAt: o.ttl ? now + o.ttl * 1000 : 0,
      contentType: o.contentType,
    });
  };
  return {
    name: DRIVER_NAME,
    sharesBuffers: true,
    capabilities: { ttl: true, ifNotExists: true, batch: true, ranges: true, createdAt: true },
    async get(key) {
      return state.live(key)?.value ?? null;
    },
    async put(key, value, o) {
      write(key, value, o);
    },
    async delete(key) {
      state.remove(key);
    },
    async has(key) {
      return state.live(key) !== undefined;
    },
    async info(key): Promise<DriverInfo | null> {
      const entry = state.live(key);
      if (!entry) return null;
      return {
        size: entry.value.byteLength,
        createdAt: new Date(entry.createdAt),
        updatedAt: new Date(entry.updatedAt),
        ...(entry.contentType && { contentType: entry.contentType }),
      };
    },
    async *list(prefix) {
      // A snapshot of the matching keys, so writes during iteration cannot disturb it.
      const keys: string[] = [];
      for (const key of state.entries.keys()) if (key.startsWith(prefix)) keys.push(key);
      for (const key of keys) if (state.live(key)) yield key;
    },
    async getMany(keys) {
      return keys.map((key) => state.live(key)?.value ?? null);
    },
    async putMany(entries, o) {
      for (const [key, value] of entries) write(key, value, o);
    },
    async deleteMany(keys) {
      for (const key of keys) state.remove(key);
    },
    async sweep() {
      return state.sweep();
    },
    async close() {
      if (!opts.name) state.clearTimer();
    },
  };
}

/** The factory the uri registry calls for `memory://` and `memory://NAME`. */
export function memoryDriverFromUri(uri: string): Driver {
  return memoryDriver({ name: nameOf(uri) });
}
