import { alreadyExists } from "../../core/already-exists.js";
import type { Driver, DriverInfo, DriverWatchEvent, WriteOptions } from "../../core/driver/contract.js";
import type { LocalDriver, StoredValue } from "../../core/driver/local-access.js";
import { utf8 } from "../../core/serialize.js";

export const DRIVER_NAME = "memory";

export interface MemoryDriverOptions {
  /**
   * Share one map per name within the process or page (`memory://NAME`); unnamed maps are private.
   * @default undefined
   */
  name?: string;
}

interface Entry extends StoredValue {
  /** Made from `text` on first need. */
  bytes: Uint8Array | undefined;
  /** The string the value came as, when the store handed one over: `bytes` are its UTF-8. */
  text: string | undefined;
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
  /** Watches of every store on this map (SPEC 11): told synchronously of each change. */
  readonly watchers = new Set<(event: DriverWatchEvent) => void>();

  /** Tells the watchers; a put nobody watches costs one size check, no iterator. */
  notify(type: "put" | "delete", key: string): void {
    if (this.watchers.size) for (const watcher of this.watchers) watcher({ type, key });
  }

  live(key: string): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry && entry.expiresAt !== 0 && entry.expiresAt <= Date.now()) {
      this.remove(key);
      return undefined;
    }
    return entry;
  }

  /** The keys under `prefix` that have not expired, in one pass (expired ones are left to the sweep). */
  liveKeys(prefix: string): string[] {
    const keys: string[] = [];
    const now = this.expiring.size > 0 ? Date.now() : 0;
    for (const [key, entry] of this.entries) {
      if (key.startsWith(prefix) && (now === 0 || entry.expiresAt === 0 || entry.expiresAt > now)) keys.push(key);
    }
    return keys;
  }

  remove(key: string): void {
    if (this.entries.delete(key)) this.notify("delete", key);
    this.expiring.delete(key);
  }

  /**
   * Stores text (a well-formed string, from the store) or bytes: `copy` for bytes that stay
   * the caller's. An existing entry is updated in place, reusing its buffer for bytes of the
   * same size: overwrites allocate nothing.
   */
  write(key: string, value: string | Uint8Array, o: WriteOptions, copy: boolean): void {
    const now = Date.now();
    const old = this.live(key);
    if (old && o.ifNotExists) throw alreadyExists(key);
    const text = typeof value === "string" ? value : undefined;
    const bytes = text === undefined ? keep(value as Uint8Array, copy, old?.bytes) : undefined;
    const expiresAt = o.ttl ? now + o.ttl * 1000 : 0;
    if (old) {
      old.bytes = bytes;
      old.text = text;
      old.updatedAt = now;
      old.expiresAt = expiresAt;
      old.contentType = o.contentType;
    } else {
      this.entries.set(key, { bytes, text, createdAt: now, updatedAt: now, expiresAt, contentType: o.contentType });
    }
    this.notify("put", key);
    if (expiresAt === 0) {
      if (this.expiring.size > 0) this.expiring.delete(key);
      return;
    }
    this.expiring.add(key);
    this.#schedule(expiresAt);
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

/** Bytes to keep: the given ones, or a copy, into the buffer they replace when it fits. */
function keep(bytes: Uint8Array, copy: boolean, replaced: Uint8Array | undefined): Uint8Array {
  if (!copy) return bytes;
  if (replaced?.byteLength !== bytes.byteLength) return bytes.slice();
  replaced.set(bytes);
  return replaced;
}

function bytesOf(entry: Entry): Uint8Array {
  entry.bytes ??= utf8(entry.text!);
  return entry.bytes;
}

/** The name in `memory://NAME`, or undefined for a private map. */
function nameOf(uri: string | undefined): string | undefined {
  const name = uri?.replace(/^memory:\/\//i, "").replace(/\/+$/, "");
  return name || undefined;
}

/**
 * Keeps values in a `Map` within the process or page. The store copies caller buffers in
 * and out, so callers can reuse theirs. TTL is exact on read and reclaimed by a timer. Streamed
 * reads are the store's, over a copy of the bytes taken when the read starts.
 * @example
 * const store = createStore({ driver: memoryDriver() });
 */
export function memoryDriver(opts: MemoryDriverOptions = {}): Driver {
  const state = opts.name ? (named.get(opts.name) ?? new MemoryState()) : new MemoryState();
  if (opts.name) named.set(opts.name, state);
  /** Driver-level puts get bytes the store made or copied for this driver (sharesBuffers): kept as they are. */
  const write = (key: string, value: Uint8Array, o: WriteOptions) => state.write(key, value, o, false);
  const get = (key: string) => {
    const entry = state.live(key);
    return entry ? bytesOf(entry) : null;
  };
  const driver: LocalDriver = {
    name: DRIVER_NAME,
    sharesBuffers: true,
    capabilities: { ttl: true, ifNotExists: true, batch: true, ranges: true, createdAt: true, watch: true },
    local: {
      peek: (key) => state.live(key),
      store: (key, value, o) => state.write(key, value, o, true),
      remove: (key) => state.remove(key),
    },
    async get(key) {
      return get(key);
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
        size: bytesOf(entry).byteLength,
        createdAt: new Date(entry.createdAt),
        updatedAt: new Date(entry.updatedAt),
        ...(entry.contentType && { contentType: entry.contentType }),
      };
    },
    async *list(prefix) {
      // One page: a snapshot of the live matching keys, so writes during iteration cannot disturb it.
      yield state.liveKeys(prefix);
    },
    async getMany(keys) {
      return keys.map(get);
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
    // In-process: every store of a `memory://NAME` shares the map, so it sees the others' writes.
    // Every key is reported: the store keeps those under the prefix.
    async watch(_prefix, emit, signal) {
      state.watchers.add(emit);
      signal.addEventListener("abort", () => state.watchers.delete(emit), { once: true });
    },
  };
  return driver;
}

/** The factory the uri registry calls for `memory://` and `memory://NAME`. */
export function memoryDriverFromUri(uri: string): Driver {
  return memoryDriver({ name: nameOf(uri) });
}
