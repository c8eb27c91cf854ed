/**
 * IndexedDB driver (browser). Layout: one object store per database, keyed by the full key
 * (the uri's prefix + the key: `idb://db/p` stores `k` as `p/k`):
 *
 *   records: key -> { value, size, createdAt, updatedAt, expiresAt?, contentType? }
 *            value: Uint8Array, or a Blob above `blobThreshold` (64 KiB)
 *            index "expiresAt": only records with a ttl carry the field, so it holds only them
 *
 * Why one record and not a meta store beside a value store: in Chromium every extra object store
 * (or index) written costs a put a large share of its throughput, and the single-put figure has
 * to match idb-keyval's (BENCHMARKS.md). `info` still never reads a large value: above 64 KiB the record
 * holds a Blob, a handle whose bytes are read only by `get`/`read`; smaller values come along.
 * A prefix listing is one contiguous key range read in pages of keys, never values.
 */

import type { ByteRange, Driver, DriverInfo, WriteOptions } from "../../../core/driver/contract.js";
import { ConnectionError, UnsupportedError } from "../../../core/errors.js";
import { deferredIterator } from "../../../core/streams/deferred-iterator.js";
import { batcher } from "./batch.js";
import type { Page } from "./list.js";
import type { Entry, Record_ } from "./record.js";
import { EXPIRES, expired, isClosing, recordOf, request, wrapError } from "./record.js";

/** The less frequent half (listing, ifNotExists, sweeps), loaded with the first database open. */
type More = typeof import("./lazy.js");
let more: More | undefined;

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

/** Bytes to store: an exact-size array (a view would clone its whole buffer) or a Blob when large. */
function toStored(value: Uint8Array, threshold: number): Uint8Array | Blob {
  if (value.byteLength > threshold) return new Blob([value as Uint8Array<ArrayBuffer>]);
  return value.byteOffset === 0 && value.byteLength === value.buffer.byteLength ? value : value.slice();
}

const toBytes = async (value: Uint8Array | Blob): Promise<Uint8Array> =>
  value instanceof Blob ? new Uint8Array(await value.arrayBuffer()) : value;

/**
 * The records of `keys` from one store: one promise for the lot (requests complete in order, so
 * the last one's success means all are in), not one per key. The requests are placed before
 * this returns, so an inactive transaction throws here, not in the promise.
 */
function getAll(store: IDBObjectStore, keys: string[]): Promise<Array<Record_ | undefined>> {
  const requests = keys.map((k) => store.get(k));
  const last = requests[requests.length - 1];
  if (!last) return Promise.resolve([]);
  return new Promise((resolve, reject) => {
    last.onsuccess = () => resolve(requests.map((r) => r.result));
    for (const r of requests) r.onerror = () => reject(r.error);
  });
}

/**
 * Stores values in IndexedDB, one record per key with its metadata (large values as Blobs).
 * Batches run in one transaction, calls issued together share one, `ifNotExists` is atomic,
 * TTLs are hidden on read and swept, a connection closed by the browser or another tab is
 * reopened (and the call retried once).
 * @example
 * const store = createStore({ driver: indexeddbDriver({ name: "app", prefix: "cache" }) });
 * await store.put("user/1", { name: "Ada" });
 */
export function indexeddbDriver(opts: IndexeddbDriverOptions = {}): Driver {
  if (typeof indexedDB === "undefined")
    throw new UnsupportedError("IndexedDB is not available here: use memory:// or opfs://");
  const dbName = opts.name || "anystore";
  const base = opts.prefix ? `${opts.prefix.replace(/^\/+|\/+$/g, "")}/` : "";
  const threshold = opts.blobThreshold ?? 64 * 1024;
  const timeout = opts.openTimeout ?? 10_000;
  const txs = batcher();
  let db: Promise<IDBDatabase> | undefined;
  let current: IDBDatabase | undefined;
  let sweepTimer: ReturnType<typeof setTimeout> | undefined;
  let sweepAt = Infinity;
  let closed = false;
  /** Every store of this database, in any tab or worker, hears of each write here (channel.ts). */
  const channelName = `anystore:indexeddb:${dbName}`;

  const gone = () => {
    db = undefined;
    current = undefined;
    txs.seal();
  };
  const connect = (): Promise<IDBDatabase> =>
    (db ??= import("./lazy.js")
      .then(
        (m) => {
          more = m;
          return m.connectStore(dbName, gone, timeout);
        },
        (error) => {
          throw new ConnectionError("the indexeddb driver's code did not load", { cause: error });
        },
      )
      .then(
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

  /**
   * Runs `fn` on the open database (at once when it is open: no await before the requests go
   * out); a closing connection is reopened and `fn` retried once.
   */
  const run = async <R>(fn: (d: IDBDatabase) => Promise<R>, key?: string): Promise<R> => {
    closed = false;
    const used = current ?? (await connect());
    try {
      return await fn(used);
    } catch (error) {
      // A transaction aborted because the browser dropped the connection wrote nothing: safe to retry.
      const dropped = (error as DOMException)?.name === "AbortError" && used !== current;
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
    sweepTimer = setTimeout(
      () => {
        sweepTimer = undefined;
        sweepAt = Infinity;
        if (current) more!.sweepExpired(txs, current).catch(() => {});
      },
      Math.max(at - Date.now(), 0) + 10,
    );
  };

  /** The live record of one key (full key), joining the open read batch; null for missing or expired (which also goes). */
  const readOne = async (k: string): Promise<Record_ | null> => {
    const r = await run(
      (d) => txs.read(d, (batch) => batch.read<Record_ | undefined>(batch.store.get(k))),
      k.slice(base.length),
    );
    if (r === undefined) return null;
    if (!expired(r)) return r;
    await run((d) => more!.dropExpired(txs, d, k));
    return null;
  };

  /** The live records of `keys` (full keys), read in one transaction; null for missing or expired. */
  const readAll = async (keys: string[]): Promise<Array<Record_ | null>> => {
    const found = await run((d) => txs.read(d, (batch) => getAll(batch.store, keys)));
    const now = Date.now();
    const gone: string[] = [];
    const out = found.map((r, i) => {
      if (r === undefined) return null;
      if (!expired(r, now)) return r;
      gone.push(keys[i]!);
      return null;
    });
    for (const k of gone) await run((d) => more!.dropExpired(txs, d, k));
    return out;
  };

  /** Writes entries (full key, value in stored form, size) in the open write batch. */
  const writeAll = (entries: Entry[], o: WriteOptions, key?: string) =>
    run(async (d) => {
      const now = Date.now();
      if (o.ifNotExists) await more!.addAll(txs, d, entries, now, o, base);
      else {
        const batch = txs.join(d);
        for (const [k, value, size] of entries) batch.store.put(recordOf(value, size, now, o), k);
        await batch.done;
      }
      if (o.ttl) scheduleSweep(now + o.ttl * 1000);
      more!.postNotice(
        channelName,
        "put",
        entries.map((e) => e[0]),
      );
    }, key);

  const removeAll = (keys: string[], key?: string) =>
    run(async (d) => {
      const batch = txs.join(d);
      for (const k of keys) batch.store.delete(k);
      await batch.done;
      more!.postNotice(channelName, "delete", keys);
    }, key);

  /** One page of keys (never values) and the expired keys to hide, read in one transaction. */
  const fetchPage = async (range: IDBKeyRange | undefined, count: number): Promise<Page> => {
    const [keys, gone] = await run((d) =>
      txs.read(d, ({ store }) =>
        Promise.all([
          request(store.getAllKeys(range, count)) as Promise<string[]>,
          request(store.index(EXPIRES).getAllKeys(IDBKeyRange.upperBound(Date.now()))) as Promise<string[]>,
        ]),
      ),
    );
    if (gone.length === 0) return { keys, hidden: undefined };
    scheduleSweep(Date.now());
    return { keys, hidden: new Set(gone) };
  };

  return {
    name: DRIVER_NAME,
    capabilities: {
      ttl: true,
      ifNotExists: true,
      streams: true,
      ranges: true,
      batch: true,
      createdAt: true,
      watch: true,
    },
    async get(key) {
      const r = await readOne(base + key);
      return r && (r.value instanceof Blob ? toBytes(r.value) : r.value);
    },
    put: (key, value, o) => writeAll([[base + key, toStored(value, threshold), value.byteLength]], o, key),
    delete: (key) => removeAll([base + key], key),
    async has(key) {
      return (await readOne(base + key)) !== null;
    },
    async info(key): Promise<DriverInfo | null> {
      const r = await readOne(base + key);
      if (!r) return null;
      const info: DriverInfo = { size: r.size, createdAt: new Date(r.createdAt), updatedAt: new Date(r.updatedAt) };
      if (r.contentType) info.contentType = r.contentType;
      return info;
    },
    list: (prefix) =>
      more
        ? more.pagedKeys(fetchPage, base, prefix)
        : deferredIterator(connect().then(() => more!.pagedKeys(fetchPage, base, prefix))),
    async read(key, range?: ByteRange) {
      const value = (await readOne(base + key))?.value;
      if (!value) return null;
      // A Blob slices like a byte range (end exclusive, clamped) and streams without copying up front.
      const blob = value instanceof Blob ? value : new Blob([value as Uint8Array<ArrayBuffer>]);
      return (range ? blob.slice(range.start, range.end) : blob).stream();
    },
    async write(key, o) {
      // The value becomes visible in one transaction on close; until then chunks gather into a Blob.
      if (!more) await connect();
      return more!.blobWriter(async (blob) =>
        writeAll(
          [[base + key, blob.size > threshold ? blob : new Uint8Array(await blob.arrayBuffer()), blob.size]],
          o,
          key,
        ),
      );
    },
    async getMany(keys) {
      const found = await readAll(keys.map((k) => base + k));
      // Only Blobs (large values) need an await.
      const blobs = found.some((r) => r?.value instanceof Blob);
      return blobs
        ? Promise.all(found.map((r) => r && toBytes(r.value)))
        : found.map((r) => r && (r.value as Uint8Array));
    },
    putMany: (entries, o) =>
      writeAll(
        entries.map(([k, v]) => [base + k, toStored(v, threshold), v.byteLength]),
        o,
      ),
    deleteMany: (keys) => removeAll(keys.map((k) => base + k)),
    sweep: () => run((d) => more!.sweepExpired(txs, d)),
    watch: (prefix, emit, signal) =>
      run(async () => more!.listenForNotices(channelName, base, base + prefix, emit, signal)),
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
