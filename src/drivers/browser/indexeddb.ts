/**
 * IndexedDB driver (browser). Layout, in one database per name:
 *
 *   meta:   key -> { size, createdAt, updatedAt, expiresAt?, contentType? }
 *           index "expiresAt" (only records with a ttl carry the field, so it holds only them)
 *   values: key -> Uint8Array, or a Blob above `blobThreshold` (64 KiB)
 *
 * Invariants: both stores change in the same transaction; `info`, `has` and `list` touch only
 * `meta`, never a value. Keys are the driver keys behind the uri's prefix (`idb://db/p` stores
 * `k` as `p/k`), so a prefix listing is one contiguous key range, read in pages.
 */

import type { IDBPDatabase } from "idb";
import { openDB } from "idb";
import type { ByteRange, Driver, DriverInfo, WriteOptions } from "../../core/driver.js";
import { AlreadyExistsError, AnystoreError, ConnectionError, UnsupportedError } from "../../core/errors.js";
import { bytesToStream, sliceBytes } from "../../core/streams.js";

export const DRIVER_NAME = "indexeddb";

export interface IndexeddbDriverOptions {
  /** The database name. @default "anystore" */
  name?: string;
  /** A key prefix inside the database, so several stores can share one database. @default "" */
  prefix?: string;
  /** Values larger than this many bytes are stored as Blobs (cheaper to store and read in Chromium). @default 65536 */
  blobThreshold?: number;
  /** Milliseconds to wait for the database to open (another tab can block an upgrade) before a `ConnectionError`. @default 10000 */
  openTimeout?: number;
}

interface Meta {
  size: number;
  createdAt: number;
  updatedAt: number;
  /** Epoch ms; absent for never (so the record stays out of the expiresAt index). */
  expiresAt?: number;
  contentType?: string;
}

type Stored = Uint8Array | Blob;
type Db = IDBPDatabase;

const META = "meta";
const VALUES = "values";
const EXPIRES = "expiresAt";
/** Keys per listing page, and expired records per sweep transaction. */
const PAGE = 1000;
/** Streamed writes gather chunks into Blob parts of this size, so the page holds at most one part. */
const PART = 4 << 20;

const expired = (meta: Meta, now = Date.now()) => meta.expiresAt !== undefined && meta.expiresAt <= now;

/**
 * The smallest string greater than every string starting with `prefix` (its last code unit
 * incremented), so `[prefix, upper)` is exactly the keys under it, with no `\uffff` guess.
 */
function rangeOf(prefix: string): IDBKeyRange | undefined {
  let p = prefix;
  while (p.length > 0 && p.charCodeAt(p.length - 1) === 0xffff) p = p.slice(0, -1);
  if (p === "") return undefined;
  return IDBKeyRange.bound(prefix, p.slice(0, -1) + String.fromCharCode(p.charCodeAt(p.length - 1) + 1), false, true);
}

/** Opens the database, adding our stores with a version bump when they are missing (a new or shared database). */
async function openStores(name: string, onGone: () => void): Promise<Db> {
  const callbacks = {
    // Another tab wants a new version (or deletes the database): let it, and reopen on next use.
    blocking: (_c: number, _b: number | null, event: IDBVersionChangeEvent) => {
      (event.target as IDBDatabase).close();
      onGone();
    },
    terminated: onGone,
  };
  for (let attempt = 0; ; attempt++) {
    const db = await openDB(name, undefined, callbacks);
    if (db.objectStoreNames.contains(META) && db.objectStoreNames.contains(VALUES)) return db;
    db.close();
    try {
      return await openDB(name, db.version + 1, {
        ...callbacks,
        upgrade(up) {
          if (!up.objectStoreNames.contains(META)) up.createObjectStore(META).createIndex(EXPIRES, EXPIRES);
          if (!up.objectStoreNames.contains(VALUES)) up.createObjectStore(VALUES);
        },
      });
    } catch (error) {
      // Someone else upgraded first (VersionError): open again and look.
      if ((error as DOMException)?.name !== "VersionError" || attempt > 2) throw error;
    }
  }
}

/** True for the errors of a connection the browser (or another tab) closed: reopen and retry once. */
const isClosing = (error: unknown) => {
  const name = (error as DOMException)?.name;
  return name === "InvalidStateError" || name === "TransactionInactiveError" || name === "UnknownError";
};

function wrapError(error: unknown, key?: string): unknown {
  if (error instanceof AnystoreError || !(error instanceof DOMException || error instanceof Error)) return error;
  const name = (error as DOMException).name;
  const why = name === "QuotaExceededError" ? "IndexedDB quota exceeded (free space or ask navigator.storage.persist())" : `IndexedDB failed: ${error.message}`;
  return new AnystoreError(why, { key, cause: error });
}

/** Bytes to store: an exact-size copy (a view would clone its whole buffer) or a Blob when large. */
function toStored(value: Uint8Array, threshold: number): Stored {
  if (value.byteLength > threshold) return new Blob([value as Uint8Array<ArrayBuffer>]);
  return value.byteOffset === 0 && value.byteLength === value.buffer.byteLength ? value : value.slice();
}

const toBytes = async (value: Stored): Promise<Uint8Array> =>
  value instanceof Blob ? new Uint8Array(await value.arrayBuffer()) : value;

/**
 * Stores values in IndexedDB (via `idb`), metadata beside them so `info` never reads a value.
 * Batches run in one transaction, `ifNotExists` is atomic, TTLs are hidden on read and swept,
 * a connection closed by the browser or another tab is reopened (and the call retried once).
 * @example
 * const store = createStore({ driver: indexeddbDriver({ name: "app", prefix: "cache" }) });
 * await store.put("user/1", { name: "Ada" });
 */
export function indexeddbDriver(opts: IndexeddbDriverOptions = {}): Driver {
  if (typeof indexedDB === "undefined") throw new UnsupportedError("IndexedDB is not available here: use memory:// or opfs://");
  const dbName = opts.name || "anystore";
  const base = opts.prefix ? `${opts.prefix.replace(/^\/+|\/+$/g, "")}/` : "";
  const threshold = opts.blobThreshold ?? 64 * 1024;
  const timeout = opts.openTimeout ?? 10_000;
  let db: Promise<Db> | undefined;
  let current: Db | undefined;
  let sweepTimer: ReturnType<typeof setTimeout> | undefined;
  let sweepAt = Infinity;
  let closed = false;

  const gone = () => {
    db = undefined;
    current = undefined;
  };
  const connect = (): Promise<Db> =>
    (db ??= new Promise<Db>((resolve, reject) => {
      const timer = setTimeout(() => reject(new ConnectionError(`IndexedDB "${dbName}" did not open within ${timeout} ms (blocked by another tab?)`)), timeout);
      openStores(dbName, gone).then(resolve, (error) => reject(new ConnectionError(`cannot open IndexedDB "${dbName}": ${error?.message ?? error}`, { cause: error }))).finally(() => clearTimeout(timer));
    }).then(
      (opened) => {
        current = opened;
        scheduleSweep(Date.now() + 1000);
        return opened;
      },
      (error) => {
        db = undefined;
        throw error;
      },
    ));

  /** Runs `fn` on the open database; a closing connection is reopened and `fn` retried once. */
  const run = async <R>(fn: (d: Db) => Promise<R>, key?: string): Promise<R> => {
    closed = false;
    try {
      return await fn(await connect());
    } catch (error) {
      if (!isClosing(error)) throw wrapError(error, key);
      current?.close();
      gone();
      try {
        return await fn(await connect());
      } catch (again) {
        throw wrapError(again, key);
      }
    }
  };

  /** One timer for the earliest known expiry; it only sweeps an open connection (never reopens a deleted database). */
  const scheduleSweep = (at: number) => {
    if (at >= sweepAt || closed) return;
    if (sweepTimer !== undefined) clearTimeout(sweepTimer);
    sweepAt = at;
    sweepTimer = setTimeout(() => {
      sweepTimer = undefined;
      sweepAt = Infinity;
      if (current) sweepWith(current).catch(() => {});
    }, Math.max(at - Date.now(), 0) + 10);
  };

  /** Deletes expired records, PAGE per transaction; resolves to how many went. */
  const sweepWith = async (d: Db): Promise<number> => {
    let removed = 0;
    for (;;) {
      const tx = d.transaction([META, VALUES], "readwrite");
      const values = tx.objectStore(VALUES);
      let n = 0;
      let cursor = await tx.objectStore(META).index(EXPIRES).openCursor(IDBKeyRange.upperBound(Date.now()));
      while (cursor && n < PAGE) {
        void values.delete(cursor.primaryKey);
        void cursor.delete();
        n++;
        cursor = await cursor.continue();
      }
      await tx.done;
      removed += n;
      if (n < PAGE) return removed;
    }
  };

  /** Removes a key found expired by a read (unless it was rewritten meanwhile). */
  const dropExpired = (k: string) =>
    run(async (d) => {
      const tx = d.transaction([META, VALUES], "readwrite");
      const meta = (await tx.objectStore(META).get(k)) as Meta | undefined;
      if (meta && expired(meta)) await Promise.all([tx.objectStore(META).delete(k), tx.objectStore(VALUES).delete(k)]);
      await tx.done;
    });

  /** Reads meta and (optionally) the value of each key in one transaction; null for missing or expired. */
  const readAll = async (keys: string[], withValue: boolean): Promise<Array<{ meta: Meta; value: Stored } | null>> => {
    const found = await run(async (d) => {
      const tx = d.transaction(withValue ? [META, VALUES] : [META], "readonly");
      const metas = tx.objectStore(META);
      const values = withValue ? tx.objectStore(VALUES) : undefined;
      return Promise.all(keys.map(async (k) => {
        const [meta, value] = await Promise.all([metas.get(k) as Promise<Meta | undefined>, values?.get(k) as Promise<Stored | undefined>]);
        return meta ? { meta, value: value as Stored } : null;
      }));
    }, keys.length === 1 ? keys[0] : undefined);
    const now = Date.now();
    return Promise.all(found.map(async (entry, i) => {
      if (entry && expired(entry.meta, now)) {
        await dropExpired(keys[i]!);
        return null;
      }
      return entry && (!withValue || entry.value !== undefined) ? entry : null;
    }));
  };

  /** Writes entries (already in stored form) in one transaction. */
  const writeAll = (entries: Array<[string, Stored, number]>, o: WriteOptions) =>
    run(async (d) => {
      const now = Date.now();
      const tx = d.transaction([META, VALUES], "readwrite");
      const metas = tx.objectStore(META);
      const values = tx.objectStore(VALUES);
      const writes = entries.map(async ([k, stored, size]) => {
        const old = (await metas.get(k)) as Meta | undefined;
        const alive = old !== undefined && !expired(old, now);
        if (o.ifNotExists && alive) throw new AlreadyExistsError(`key already exists: ${k.slice(base.length)}`, { key: k.slice(base.length) });
        const meta: Meta = { size, createdAt: alive ? old.createdAt : now, updatedAt: now };
        if (o.ttl) meta.expiresAt = now + o.ttl * 1000;
        if (o.contentType) meta.contentType = o.contentType;
        // `add` makes ifNotExists atomic: it fails (and aborts everything) if the key appeared.
        if (o.ifNotExists) {
          if (old) await metas.delete(k);
          await metas.add(meta, k);
        } else await metas.put(meta, k);
        await values.put(stored, k);
      });
      try {
        await Promise.all([...writes, tx.done]);
      } catch (error) {
        try {
          tx.abort();
        } catch {
          // already finished
        }
        if ((error as DOMException)?.name === "ConstraintError") throw new AlreadyExistsError(`key already exists`, { cause: error });
        throw error;
      }
      if (o.ttl) scheduleSweep(now + o.ttl * 1000);
    }, entries.length === 1 ? entries[0]![0].slice(base.length) : undefined);

  const removeAll = (keys: string[]) =>
    run(async (d) => {
      const tx = d.transaction([META, VALUES], "readwrite");
      await Promise.all([...keys.flatMap((k) => [tx.objectStore(META).delete(k), tx.objectStore(VALUES).delete(k)]), tx.done]);
    });

  const one = async (key: string, withValue: boolean) => (await readAll([base + key], withValue))[0] ?? null;

  return {
    name: DRIVER_NAME,
    capabilities: { ttl: true, ifNotExists: true, streams: true, ranges: true, batch: true, createdAt: true },
    async get(key) {
      const entry = await one(key, true);
      return entry && toBytes(entry.value);
    },
    async put(key, value, o) {
      await writeAll([[base + key, toStored(value, threshold), value.byteLength]], o);
    },
    async delete(key) {
      await removeAll([base + key]);
    },
    async has(key) {
      return (await one(key, false)) !== null;
    },
    async info(key): Promise<DriverInfo | null> {
      const meta = (await one(key, false))?.meta;
      if (!meta) return null;
      const info: DriverInfo = { size: meta.size, createdAt: new Date(meta.createdAt), updatedAt: new Date(meta.updatedAt) };
      if (meta.contentType) info.contentType = meta.contentType;
      return info;
    },
    async *list(prefix) {
      const full = base + prefix;
      const upper = rangeOf(full);
      let range = upper;
      for (;;) {
        // One short transaction per page: keys in order, plus any expired-but-unswept ones to hide.
        const [keys, gone] = await run(async (d) => {
          const store = d.transaction(META, "readonly").store;
          return Promise.all([
            store.getAllKeys(range, PAGE) as Promise<string[]>,
            store.index(EXPIRES).getAllKeys(IDBKeyRange.upperBound(Date.now())) as Promise<string[]>,
          ]);
        });
        const hidden = gone.length > 0 ? new Set(gone) : undefined;
        for (const k of keys) if (!hidden?.has(k)) yield k.slice(base.length);
        if (hidden) scheduleSweep(Date.now());
        if (keys.length < PAGE) return;
        const last = keys[keys.length - 1]!;
        range = upper ? IDBKeyRange.bound(last, upper.upper, true, true) : IDBKeyRange.lowerBound(last, true);
      }
    },
    async read(key, range?: ByteRange) {
      const entry = await one(key, true);
      if (!entry) return null;
      const { value } = entry;
      if (value instanceof Blob) return (range ? value.slice(range.start ?? 0, range.end ?? value.size) : value).stream();
      return bytesToStream(sliceBytes(value, range));
    },
    async write(key, o) {
      // Chunks gather into Blob parts (handed to the browser's blob storage, which pages to disk),
      // so memory stays bounded; the value becomes visible in one transaction on close.
      let parts: Blob[] = [];
      let pending: Uint8Array<ArrayBuffer>[] = [];
      let pendingSize = 0;
      let size = 0;
      const flush = () => {
        if (pending.length > 0) parts.push(new Blob(pending));
        pending = [];
        pendingSize = 0;
      };
      return new WritableStream<Uint8Array>({
        write(chunk) {
          pending.push(chunk.slice() as Uint8Array<ArrayBuffer>);
          pendingSize += chunk.byteLength;
          size += chunk.byteLength;
          if (pendingSize >= PART) flush();
        },
        async close() {
          flush();
          const blob = new Blob(parts);
          parts = [];
          const stored = size > threshold ? blob : new Uint8Array(await blob.arrayBuffer());
          await writeAll([[base + key, stored, size]], o);
        },
        abort() {
          parts = [];
          pending = [];
        },
      });
    },
    async getMany(keys) {
      const found = await readAll(keys.map((k) => base + k), true);
      return Promise.all(found.map((entry) => entry && toBytes(entry.value)));
    },
    async putMany(entries, o) {
      await writeAll(entries.map(([k, v]) => [base + k, toStored(v, threshold), v.byteLength]), o);
    },
    async deleteMany(keys) {
      await removeAll(keys.map((k) => base + k));
    },
    sweep: () => run(sweepWith),
    async close() {
      closed = true;
      if (sweepTimer !== undefined) clearTimeout(sweepTimer);
      sweepTimer = undefined;
      sweepAt = Infinity;
      const opened = current;
      gone();
      opened?.close();
    },
  };
}

/** `idb://DBNAME[/prefix]` and `indexeddb://DBNAME[/prefix]`; a bare `idb://` is the database "anystore". */
export function parseIndexeddbUri(uri: string): { name: string; prefix: string } {
  const [name = "", ...rest] = uri.replace(/^(idb|indexeddb):\/\//i, "").split("/");
  return { name: decodeURIComponent(name) || "anystore", prefix: rest.filter((s) => s !== "" && s !== ".").join("/") };
}

/** The factory the uri registry calls for `idb://` and `indexeddb://`. */
export function indexeddbDriverFromUri(uri: string, options: Record<string, unknown> = {}): Driver {
  const { name, prefix } = parseIndexeddbUri(uri);
  const driverOpts: IndexeddbDriverOptions = { name, prefix };
  if (typeof options.blobThreshold === "number") driverOpts.blobThreshold = options.blobThreshold;
  if (typeof options.openTimeout === "number") driverOpts.openTimeout = options.openTimeout;
  return indexeddbDriver(driverOpts);
}
