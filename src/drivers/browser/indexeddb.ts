/**
 * IndexedDB driver (browser). Layout: one object store per database, keyed by the full key
 * (the uri's prefix + the key: `idb://db/p` stores `k` as `p/k`):
 *
 *   records: key -> { value, size, createdAt, updatedAt, expiresAt?, contentType? }
 *            value: Uint8Array, or a Blob above `blobThreshold` (64 KiB)
 *            index "expiresAt": only records with a ttl carry the field, so it holds only them
 *
 * Why one record and not a meta store beside a value store: in Chromium every extra object store
 * (or index) written costs a put ~30-50% of its throughput (measured), and the single-put figure
 * has to match idb-keyval's. `info` still never reads a large value: above 64 KiB the record
 * holds a Blob, a handle whose bytes are read only by `get`/`read`; smaller values come along.
 * A prefix listing is one contiguous key range read in pages of keys, never values.
 */

import type { ByteRange, Driver, DriverInfo, WriteOptions } from "../../core/driver.js";
import { AlreadyExistsError, ConnectionError, UnsupportedError } from "../../core/errors.js";
import { bytesToStream, sliceBytes } from "../../core/streams.js";
import type { Db } from "./indexeddb-open.js";
import { EXPIRES, finished, isClosing, openStore, plain, rangeOf, RECORDS, request, wrapError } from "./indexeddb-open.js";

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

interface Record_ {
  value: Uint8Array | Blob;
  size: number;
  /** When this value was written (epoch ms); an overwrite is a new value, as on fs. */
  createdAt: number;
  updatedAt: number;
  /** Epoch ms; absent for never (so the record stays out of the expiresAt index). */
  expiresAt?: number;
  contentType?: string;
}


/** Keys per listing page, and expired records per sweep transaction. */
const PAGE = 1000;
/** Streamed writes gather chunks into Blob parts of this size, so the page holds at most one part. */
const PART = 4 << 20;

const expired = (r: Record_, now = Date.now()) => r.expiresAt !== undefined && r.expiresAt <= now;

/** Bytes to store: an exact-size array (a view would clone its whole buffer) or a Blob when large. */
function toStored(value: Uint8Array, threshold: number): Uint8Array | Blob {
  if (value.byteLength > threshold) return new Blob([value as Uint8Array<ArrayBuffer>]);
  return value.byteOffset === 0 && value.byteLength === value.buffer.byteLength ? value : value.slice();
}

const toBytes = async (value: Uint8Array | Blob): Promise<Uint8Array> =>
  value instanceof Blob ? new Uint8Array(await value.arrayBuffer()) : value;

/**
 * Stores values in IndexedDB (via `idb`), one record per key with its metadata (large values as Blobs).
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
      openStore(dbName, gone).then(resolve, (error) => reject(new ConnectionError(`cannot open IndexedDB "${dbName}": ${error?.message ?? error}`, { cause: error }))).finally(() => clearTimeout(timer));
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
    let used: Db | undefined;
    try {
      return await fn((used = await connect()));
    } catch (error) {
      // A transaction aborted because the browser dropped the connection wrote nothing: safe to retry.
      const dropped = (error as DOMException)?.name === "AbortError" && used !== undefined && used !== current;
      if (!isClosing(error) && !dropped) throw wrapError(error, key);
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
      const tx = d.transaction(RECORDS, "readwrite");
      let n = 0;
      let cursor = await tx.store.index(EXPIRES).openCursor(IDBKeyRange.upperBound(Date.now()));
      for (; cursor && n < PAGE; n++) {
        void cursor.delete();
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
      const tx = d.transaction(RECORDS, "readwrite");
      const r = (await tx.store.get(k)) as Record_ | undefined;
      if (r && expired(r)) await tx.store.delete(k);
      await tx.done;
    });

  /** The live records of `keys` (full keys), read in one transaction; null for missing or expired. */
  const readAll = async (keys: string[]): Promise<Array<Record_ | null>> => {
    const found = await run((d) => {
      const store = plain(d).objectStore(RECORDS);
      return Promise.all(keys.map((k) => request<Record_ | undefined>(store.get(k))));
    }, keys.length === 1 ? keys[0]!.slice(base.length) : undefined);
    const now = Date.now();
    return Promise.all(found.map(async (r, i) => {
      if (!r) return null;
      if (!expired(r, now)) return r;
      await dropExpired(keys[i]!);
      return null;
    }));
  };

  /** Writes entries (full key, value in stored form, size) in one transaction. */
  const writeAll = (entries: Array<[string, Uint8Array | Blob, number]>, o: WriteOptions) =>
    run(async (d) => {
      const now = Date.now();
      const tx = plain(d, "readwrite");
      const store = tx.objectStore(RECORDS);
      const record = (value: Uint8Array | Blob, size: number) => {
        const r: Record_ = { value, size, createdAt: now, updatedAt: now };
        if (o.ttl) r.expiresAt = now + o.ttl * 1000;
        if (o.contentType) r.contentType = o.contentType;
        return r;
      };
      // ifNotExists: an expired record counts as absent; `add` fails (aborting everything) if the key exists.
      const addNew = async ([k, value, size]: [string, Uint8Array | Blob, number]) => {
        const old = await request<Record_ | undefined>(store.get(k));
        if (old && !expired(old, now)) throw new AlreadyExistsError(`key already exists: ${k.slice(base.length)}`, { key: k.slice(base.length) });
        if (old) store.delete(k);
        await request(store.add(record(value, size), k));
      };
      const done = finished(tx);
      try {
        // Plain puts need no promise per request: the transaction's completion says it all.
        if (o.ifNotExists) await Promise.all([...entries.map(addNew), done]);
        else {
          for (const [k, value, size] of entries) store.put(record(value, size), k);
          await done;
        }
      } catch (error) {
        done.catch(() => {});
        try {
          tx.abort();
        } catch {
          // already finished
        }
        throw (error as DOMException)?.name === "ConstraintError" ? new AlreadyExistsError("key already exists", { cause: error }) : error;
      }
      if (o.ttl) scheduleSweep(now + o.ttl * 1000);
    }, entries.length === 1 ? entries[0]![0].slice(base.length) : undefined);

  const removeAll = (keys: string[]) =>
    run(async (d) => {
      const tx = plain(d, "readwrite");
      const done = finished(tx);
      for (const k of keys) tx.objectStore(RECORDS).delete(k);
      await done;
    });

  const one = async (key: string) => (await readAll([base + key]))[0] ?? null;

  return {
    name: DRIVER_NAME,
    capabilities: { ttl: true, ifNotExists: true, streams: true, ranges: true, batch: true, createdAt: true },
    async get(key) {
      const r = await one(key);
      return r && toBytes(r.value);
    },
    async put(key, value, o) {
      await writeAll([[base + key, toStored(value, threshold), value.byteLength]], o);
    },
    async delete(key) {
      await removeAll([base + key]);
    },
    async has(key) {
      return (await one(key)) !== null;
    },
    async info(key): Promise<DriverInfo | null> {
      const r = await one(key);
      if (!r) return null;
      const info: DriverInfo = { size: r.size, createdAt: new Date(r.createdAt), updatedAt: new Date(r.updatedAt) };
      if (r.contentType) info.contentType = r.contentType;
      return info;
    },
    list(prefix) {
      // A hand-made iterator over pages: one resolved promise per key instead of an async
      // generator's several hops, which is most of a listing's cost (the keys come in one IPC).
      const upper = rangeOf(base + prefix);
      let range = upper;
      let page: string[] = [];
      let at = 0;
      let more = true;
      const fetchPage = async () => {
        // One short transaction per page: keys in order, plus any expired-but-unswept ones to hide.
        const [keys, gone] = await run((d) => {
          const store = plain(d).objectStore(RECORDS);
          return Promise.all([
            request(store.getAllKeys(range, PAGE)) as Promise<string[]>,
            request(store.index(EXPIRES).getAllKeys(IDBKeyRange.upperBound(Date.now()))) as Promise<string[]>,
          ]);
        });
        const hidden = gone.length > 0 ? new Set(gone) : undefined;
        if (hidden) scheduleSweep(Date.now());
        const visible = hidden ? keys.filter((k) => !hidden.has(k)) : keys;
        page = base ? visible.map((k) => k.slice(base.length)) : visible;
        at = 0;
        more = keys.length === PAGE;
        if (more) range = upper ? IDBKeyRange.bound(keys[PAGE - 1], upper.upper, true, true) : IDBKeyRange.lowerBound(keys[PAGE - 1], true);
      };
      const iterator: AsyncIterableIterator<string> = {
        [Symbol.asyncIterator]: () => iterator,
        next: (): Promise<IteratorResult<string>> =>
          at < page.length
            ? Promise.resolve({ value: page[at++]!, done: false })
            : more
              ? fetchPage().then(() => iterator.next())
              : Promise.resolve({ value: undefined, done: true }),
      };
      return iterator;
    },
    async read(key, range?: ByteRange) {
      const value = (await one(key))?.value;
      if (!value) return null;
      if (value instanceof Blob) return (range ? value.slice(range.start, range.end) : value).stream();
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
          await writeAll([[base + key, size > threshold ? blob : new Uint8Array(await blob.arrayBuffer()), size]], o);
        },
        abort() {
          parts = [];
          pending = [];
        },
      });
    },
    async getMany(keys) {
      const found = await readAll(keys.map((k) => base + k));
      return Promise.all(found.map((r) => r && toBytes(r.value)));
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
