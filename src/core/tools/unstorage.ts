/**
 * Interop with unstorage (SPEC 10), structurally typed: unstorage is never imported.
 * Keys map `/` <-> `:` (unstorage's separator), so an fs directory has the same layout on
 * both sides; a literal `:` in an anystore key travels as `%3A` (unstorage would split on it).
 */

import type { Driver, DriverInfo, DriverWatchEvent } from "../driver/contract.js";
import { ConflictError, isAnystoreError, UnsupportedError } from "../errors.js";
import { collect } from "../streams/to-bytes.js";
import type { Store } from "../types.js";

type Awaitable<T> = T | Promise<T>;
type Opts = Record<string, unknown>;

/** The part of an unstorage `Driver` (or a `Storage` from `createStorage`) anystore uses. */
export interface UnstorageDriverLike {
  name?: string;
  hasItem(key: string, opts: Opts): Awaitable<boolean>;
  getItem(key: string, opts: Opts): Awaitable<unknown>;
  getItemRaw?(key: string, opts: Opts): Awaitable<unknown>;
  setItem?(key: string, value: string, opts: Opts): Awaitable<void>;
  // biome-ignore lint/suspicious/noExplicitAny: as unstorage declares it (raw values are whatever its drivers take)
  setItemRaw?(key: string, value: any, opts: Opts): Awaitable<void>;
  removeItem?(key: string, opts: Opts): Awaitable<void>;
  getMeta?(key: string, opts: Opts): Awaitable<Record<string, unknown> | null | undefined>;
  getKeys(base: string, opts: Opts): Awaitable<string[]>;
  dispose?(): Awaitable<void>;
  /** unstorage's change events; resolves to the function that stops them. */
  watch?(callback: (event: "update" | "remove", key: string) => void): Awaitable<() => Awaitable<void>>;
}

/** What `toUnstorage` returns: an unstorage driver, ready for `createStorage({ driver })` or `storage.mount()`. */
export interface UnstorageDriver {
  name: string;
  // biome-ignore lint/suspicious/noExplicitAny: a store of any value type (Store<T> uses T both ways, so Store<unknown> would refuse a Store<Note>)
  options: { store: Store<any> };
  hasItem(key: string, opts?: Opts): Promise<boolean>;
  getItem(key: string, opts?: Opts): Promise<string | null>;
  getItemRaw(key: string, opts?: Opts): Promise<Uint8Array | null>;
  setItem(key: string, value: string, opts?: Opts): Promise<void>;
  setItemRaw(key: string, value: unknown, opts?: Opts): Promise<void>;
  removeItem(key: string, opts?: Opts): Promise<void>;
  getMeta(key: string, opts?: Opts): Promise<Record<string, unknown>>;
  getKeys(base?: string, opts?: Opts): Promise<string[]>;
  clear(base?: string, opts?: Opts): Promise<void>;
  dispose(): Promise<void>;
  /**
   * unstorage's change events from `store.watch` (SPEC 11): `update` for a put, `remove` for a
   * delete. Resolves once it listens, to the function that stops it. A `resync` has no unstorage
   * counterpart and is dropped; a watch that fails ends quietly (unstorage has no error event).
   */
  watch(callback: (event: "update" | "remove", key: string) => void): Promise<() => Promise<void>>;
}

export interface FromUnstorageOptions {
  /** Call the driver's `dispose()` when the store closes. @default false (the caller owns it) */
  dispose?: boolean;
  /**
   * The backend is a file tree, where a key cannot also be a folder (`a` and `a/b`): clashes
   * throw `ConflictError` and folders are not keys.
   * @default true for unstorage's `fs` and `fs-lite` drivers, else false
   */
  paths?: boolean;
}

export interface ToUnstorageOptions {
  /**
   * Close the store when unstorage disposes the driver (`storage.dispose()`, `unmount`). The store
   * is the caller's, who may still use it elsewhere, so by default it stays open.
   * @default false
   */
  dispose?: boolean;
}

/** unstorage drivers that store keys as files. */
const PATH_DRIVERS = new Set(["fs", "fs-lite"]);
/** errno codes of a key/folder clash on a file tree. */
const CLASH = new Set(["ENOTDIR", "EISDIR", "EEXIST", "ENOTEMPTY", "EPERM"]);

function errno(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

const BASE64 = "base64:";
const encoder = new TextEncoder();
/** unstorage's getItem reads text leniently (as Node's readFile "utf8" does). */
const lenient = new TextDecoder();

/** An anystore key (`a/b`, `x:y`) as an unstorage key (`a:b`, `x%3Ay`). */
function toColon(key: string): string {
  return key.replaceAll(":", "%3A").replaceAll("/", ":");
}

/** An unstorage key (`a:b`, or `a/b` as the fs driver lists them) as an anystore key. */
function toSlash(key: string): string {
  return key
    .split(/[:/\\]/)
    .filter(Boolean)
    .join("/")
    .replace(/%3A/gi, ":");
}

function fromBase64(text: string): Uint8Array {
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

/** Whatever an unstorage driver hands back, as bytes (`null` when missing). */
async function asBytes(value: unknown): Promise<Uint8Array | null> {
  if (value === null || value === undefined) return null;
  if (value instanceof Uint8Array) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (typeof Blob !== "undefined" && value instanceof Blob) return new Uint8Array(await value.arrayBuffer());
  if (typeof value === "string") return encoder.encode(value);
  return encoder.encode(JSON.stringify(value));
}

function asDate(value: unknown): Date | null {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value;
  if (typeof value === "string" || typeof value === "number") {
    const date = new Date(value);
    return Number.isNaN(date.getTime()) ? null : date;
  }
  return null;
}

/**
 * Makes any unstorage driver, or a whole unstorage `Storage`, an anystore driver. Values are
 * read with `getItemRaw` and written with `setItemRaw` where the driver has them (else as
 * unstorage's own `base64:` strings), so bytes round-trip.
 * @example
 * import fsDriver from "unstorage/drivers/fs";
 * const store = createStore({ driver: fromUnstorage(fsDriver({ base: "./data" })) });
 * await store.put("a/b.json", { ok: true }); // the file ./data/a/b.json
 */
export function fromUnstorage(storageOrDriver: UnstorageDriverLike, options: FromUnstorageOptions = {}): Driver {
  const u = storageOrDriver;
  const opts: Opts = {};
  const writable = typeof u.setItemRaw === "function" || typeof u.setItem === "function";
  const paths = options.paths ?? PATH_DRIVERS.has(u.name ?? "");
  const label = u.name ?? "";

  const read = async (key: string): Promise<Uint8Array | null> => {
    const k = toColon(key);
    try {
      if (u.getItemRaw) return await asBytes(await u.getItemRaw(k, opts));
      const value = await u.getItem(k, opts);
      if (typeof value === "string" && value.startsWith(BASE64)) return fromBase64(value.slice(BASE64.length));
      return await asBytes(value);
    } catch (error) {
      // On a path-based backend, a key below a file (`a/b` with `a` stored) simply does not exist.
      if (paths && errno(error) === "ENOTDIR") return null;
      throw error;
    }
  };
  // A folder is no key: on path-based backends, `hasItem` and `getMeta` answer for folders too.
  const has = async (key: string): Promise<boolean> => {
    try {
      if (!(await u.hasItem(toColon(key), opts))) return false;
    } catch (error) {
      if (paths && errno(error) === "ENOTDIR") return false;
      throw error;
    }
    return !paths || (await read(key)) !== null;
  };

  const driver: Driver = {
    name: `unstorage${label ? `:${label}` : ""}`,
    capabilities: { write: writable, list: true, paths, watch: typeof u.watch === "function" },
    get: read,
    async put(key, value) {
      const k = toColon(key);
      try {
        // A copy: drivers such as unstorage's memory keep the very object they are given.
        if (u.setItemRaw) return await u.setItemRaw(k, value.slice(), opts);
        if (u.setItem) return await u.setItem(k, BASE64 + toBase64(value), opts);
      } catch (error) {
        if (paths && CLASH.has(errno(error) ?? ""))
          throw new ConflictError(`cannot write ${key}: it clashes with a key or folder of the same name`, {
            key,
            cause: error,
          });
        throw error;
      }
      throw new UnsupportedError(`the unstorage driver ${label} cannot write`, { key });
    },
    async delete(key) {
      if (!u.removeItem) throw new UnsupportedError(`the unstorage driver ${label} cannot delete`, { key });
      try {
        await u.removeItem(toColon(key), opts);
      } catch (error) {
        // A folder or a path through a file: there is no such key, and deleting it is a no-op.
        if (paths && CLASH.has(errno(error) ?? "")) return;
        throw error;
      }
    },
    has,
    async info(key): Promise<DriverInfo | null> {
      if (paths && !(await has(key))) return null;
      const k = toColon(key);
      // nativeOnly: a Storage would otherwise also read its `key$` meta item.
      const meta = u.getMeta ? await u.getMeta(k, { nativeOnly: true }) : undefined;
      let size = typeof meta?.size === "number" ? meta.size : undefined;
      if (size === undefined) {
        const bytes = await read(key);
        if (bytes === null) return null;
        size = bytes.byteLength;
      }
      const updatedAt = asDate(meta?.mtime);
      const createdAt = asDate(meta?.birthtime);
      return { size, updatedAt, createdAt, ...(typeof meta?.type === "string" && { contentType: meta.type }) };
    },
    // The driver's (or the Storage's) own events, where it has them; else the store polls.
    ...(typeof u.watch === "function" && {
      async watch(prefix: string, emit: (event: DriverWatchEvent) => void, signal: AbortSignal) {
        const unwatch = await u.watch!((event, key) => {
          const k = toSlash(key);
          if (k.startsWith(prefix)) emit({ type: event === "remove" ? "delete" : "put", key: k });
        });
        const stop = () => Promise.resolve(unwatch()).catch(() => {});
        if (signal.aborted) await stop();
        else signal.addEventListener("abort", stop, { once: true });
      },
    }),
    async *list(prefix) {
      const base = prefix === "" ? "" : `${toColon(prefix.slice(0, -1))}:`;
      const keys: string[] = [];
      for (const raw of await u.getKeys(base, opts)) {
        const key = toSlash(raw);
        // Most unstorage drivers ignore `base` and list everything.
        if (key.startsWith(prefix)) keys.push(key);
      }
      yield keys; // unstorage hands every key over at once: one page
    },
    async close() {
      if (options.dispose) await u.dispose?.();
    },
  };
  return driver;
}

/**
 * Makes an anystore store an unstorage driver, so unstorage code (Nitro, Nuxt, h3) can mount
 * any anystore backend. Values pass as raw bytes, whatever the store's serialization. `setItem`'s
 * `ttl` option (seconds, as unstorage's drivers take it) becomes the put's `ttl`. `dispose()`
 * leaves the store open unless `{ dispose: true }`: the caller made it and owns it.
 * @example
 * import { createStorage } from "unstorage";
 * const storage = createStorage();
 * storage.mount("files", toUnstorage(createStore("s3://bucket")));
 * await storage.setItem("files:reports:2026.json", { total: 3 }); // s3://bucket/reports/2026.json
 */
// biome-ignore lint/suspicious/noExplicitAny: a store of any value type (Store<T> uses T both ways, so Store<unknown> would refuse a Store<Note>)
export function toUnstorage(store: Store<any>, options: ToUnstorageOptions = {}): UnstorageDriver {
  const key = (k: string) => toSlash(k);
  const readBytes = async (k: string): Promise<Uint8Array | null> => {
    try {
      return await collect(await store.open(key(k), "r"));
    } catch (error) {
      if (isAnystoreError(error, "NOT_FOUND")) return null;
      throw error;
    }
  };
  // A Blob is stored as raw bytes, bypassing the store's serialization and schema.
  const writeBytes = (k: string, bytes: Uint8Array, opts?: Opts) =>
    store.put(key(k), new Blob([bytes as Uint8Array<ArrayBuffer>]), ttlOf(opts));
  const keysUnder = async (base: string | undefined): Promise<string[]> => {
    const prefix = toSlash(base ?? "");
    const keys: string[] = [];
    // Keys come back relative to the store, which is what unstorage wants from a mounted driver.
    for await (const k of store.keys(prefix === "" ? {} : { prefix })) keys.push(toColon(k));
    return keys;
  };
  return {
    name: "anystore",
    options: { store },
    hasItem: (k) => store.exists(key(k)),
    async getItem(k) {
      const bytes = await readBytes(k);
      return bytes === null ? null : lenient.decode(bytes);
    },
    getItemRaw: readBytes,
    setItem: (k, value, opts) => writeBytes(k, encoder.encode(value), opts),
    async setItemRaw(k, value, opts) {
      const bytes = await asBytes(value);
      if (bytes === null) return store.delete(key(k));
      return writeBytes(k, bytes, opts);
    },
    removeItem: (k) => store.delete(key(k)),
    async getMeta(k) {
      try {
        const info = await store.info(key(k));
        return {
          size: info.size,
          mtime: info.updatedAt ?? undefined,
          birthtime: info.createdAt ?? undefined,
          type: info.contentType,
        };
      } catch (error) {
        if (isAnystoreError(error, "NOT_FOUND")) return {};
        throw error;
      }
    },
    getKeys: (base) => keysUnder(base),
    async clear(base) {
      const keys = await keysUnder(base);
      for (let i = 0; i < keys.length; i += 256) await store.deleteMany(keys.slice(i, i + 256).map(key));
    },
    dispose: async () => {
      if (options.dispose) await store.close();
    },
    async watch(callback) {
      const events = store.watch();
      await events.ready;
      const relay = async () => {
        for await (const event of events) {
          if (event.type !== "resync") callback(event.type === "put" ? "update" : "remove", toColon(event.key));
        }
      };
      relay().catch(() => {});
      return async () => {
        await events.return?.();
      };
    },
  };
}

/** unstorage's `{ ttl }` (seconds) as put options; a missing or unusable ttl leaves the store's default. */
function ttlOf(opts: Opts | undefined): { ttl: number } | undefined {
  const ttl = opts?.ttl;
  return typeof ttl === "number" && Number.isFinite(ttl) && ttl >= 0 ? { ttl } : undefined;
}
