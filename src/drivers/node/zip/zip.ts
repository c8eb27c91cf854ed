import { mkdir, stat } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Driver, DriverInfo, WriteOptions } from "../../../core/driver/contract.js";
import type { SignedListingDriver, StampedDriver } from "../../../core/driver/poll-watch.js";
import { AnystoreError, InvalidArgumentError, isAnystoreError } from "../../../core/errors.js";
import type { Archive } from "./archive.js";
import { ArchiveCache, stampOf } from "./archive.js";
import { Window } from "./directory.js";
import type { Entry } from "./format.js";
import { newEntry } from "./format.js";
import { recover } from "./journal.js";
import { ArchiveLock } from "./lock.js";
import { alive, dropAll, keepCreated, mostlyExpired, newBatch, plan } from "./plan.js";
import type { ReadLimits, Source } from "./reader.js";
import { entryBytes, entryStream } from "./reader.js";
import type { Pending } from "./writer.js";
import { append, compress, rewrite, Spool, sweepTemps } from "./writer.js";

export const DRIVER_NAME = "zip";

export interface ZipDriverOptions {
  /** The archive: a path, a `file://` uri or `zip:///abs/archive.zip`. Created on first write. */
  path: string;
  /**
   * The largest size one entry may inflate to, in bytes, streamed or whole. Entries declaring
   * more, or inflating past what they declare, fail with an `AnystoreError` (code IO) instead of
   * filling memory or disk (zip bombs). `Infinity` lifts the cap.
   * @default 1073741824 (1 GiB)
   */
  maxEntrySize?: number;
  /**
   * The largest entry `get` and `getMany` inflate into memory, in bytes; a larger one fails with
   * `UnsupportedError` (read it as a stream: `open`, `stream`, which hold a few hundred KiB
   * whatever the size).
   * @default 268435456 (256 MiB)
   */
  maxGetSize?: number;
  /**
   * The most an entry over 16 MiB may inflate relative to its compressed size; more fails with
   * an `AnystoreError` (code IO), streamed or whole: a zip bomb (deflate reaches ~1030:1). Data
   * that deflates better than 100:1 (long runs of zeros, say) needs a higher value, or `Infinity`.
   * @default 100
   */
  maxRatio?: number;
  /**
   * Milliseconds a write waits for another process (or store) writing the same archive before it
   * fails with an `AnystoreError` (code IO).
   * @default 30000
   */
  lockTimeout?: number;
  /**
   * Deflate level (0-9) for new entries; 0 stores them uncompressed. Values up to 1 MiB that
   * deflate does not shrink are stored either way.
   * @default 6
   */
  level?: number;
}

const DEFAULTS = { maxEntrySize: 1024 ** 3, maxGetSize: 256 * 1024 ** 2, maxRatio: 100, lockTimeout: 30_000 };
/** Values larger than this are deflated into a spool file, a slice at a time, rather than in memory at once. */
const SPOOL_ABOVE = 1024 * 1024;
/** Temp and spool files untouched for this long were left by a killed writer: `sweep()` removes them. */
const TEMP_MAX_AGE = 60 * 60 * 1000;

function limitOption(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !(value >= 0))
    throw new InvalidArgumentError(`${name} must be a number >= 0, got ${String(value)}`);
  return value;
}

/**
 * The archive path a uri names: `zip:///abs/a.zip`, `zip://rel.zip`, `file:///abs/a.zip` or a plain path.
 * @example
 * archivePathOf("zip:///data/export.zip"); // "/data/export.zip"
 */
export function archivePathOf(uri: string): string {
  if (/^file:\/\//i.test(uri)) return fileURLToPath(uri);
  if (/^zip:\/\//i.test(uri)) return resolve(uri.slice(6));
  return resolve(uri);
}

/**
 * A zip archive as a store: key `a/b.txt` is the entry `a/b.txt`, so any archive made by `zip`,
 * Python's `zipfile` or a mirrored store reads back, and what this driver writes passes
 * `unzip -t`. Reads use the central directory (cached while the file's identity, size and mtime
 * hold) and inflate only the entry asked for, as a stream. A new key is appended in place; an
 * overwrite or a delete rewrites the archive into a temp file renamed over it (atomic, but it
 * costs a copy of the whole archive). Writers take turns, across processes too, through a lock
 * file beside the archive; an append is journaled, so a writer killed at any moment leaves the
 * archive readable and the next writer restores it. TTLs live in anystore's extra field of each
 * entry; expired entries are invisible and dropped by the next rewrite or `sweep()`.
 *
 * Entries whose names are not valid keys (`..`, absolute, backslashes, drive letters) are never
 * reachable or listed, and kept as they are by rewrites. A corrupt or truncated archive fails
 * with an `AnystoreError` of code IO ("corrupt zip archive ..."); encrypted entries and methods
 * other than stored and deflated with `UnsupportedError`.
 * @example
 * const store = createStore({ driver: zipDriver({ path: "./export.zip" }) });
 * await store.put("docs/readme.txt", "hello");
 */
export function zipDriver(opts: ZipDriverOptions): Driver {
  const path = archivePathOf(opts.path);
  const limits: ReadLimits = {
    maxEntrySize: limitOption("maxEntrySize", opts.maxEntrySize, DEFAULTS.maxEntrySize),
    maxGetSize: limitOption("maxGetSize", opts.maxGetSize, DEFAULTS.maxGetSize),
    maxRatio: limitOption("maxRatio", opts.maxRatio, DEFAULTS.maxRatio),
  };
  const lock = new ArchiveLock(path, limitOption("lockTimeout", opts.lockTimeout, DEFAULTS.lockTimeout));
  const level = opts.level ?? 6;
  if (!Number.isInteger(level) || level < 0 || level > 9)
    throw new InvalidArgumentError(`level must be an integer 0-9, got ${opts.level}`);

  const cache = new ArchiveCache(path, wrap);
  const current = () => cache.current();
  const release = (a: Archive) => cache.release(a);
  /** The writer queue: one write at a time in this process, and the lock file for other processes. */
  let queue: Promise<unknown> = Promise.resolve();

  const exclusive = <R>(fn: (a: Archive) => Promise<R>): Promise<R> => {
    const run = queue.then(async () => {
      try {
        await lock.acquire();
        try {
          await recover(path); // an append cut short by a killed writer is undone first
          const a = await current(); // refreshed before `writing` is set: it may have changed on disk
          cache.writing = true;
          return await fn(a);
        } finally {
          cache.writing = false;
          await lock.release();
        }
      } catch (error) {
        throw wrap(error);
      }
    });
    queue = run.catch(() => {});
    return run;
  };

  const source = (a: Archive): Source => ({ fh: a.fh!, path, dataEnd: a.dir.cdStart });
  const live = async (key: string) => {
    const a = await current();
    const e = a.dir.files.get(key);
    return alive(e) ? { a, e } : null;
  };

  /** Writes new entries, appending when nothing is replaced, else rewriting. Runs inside the queue. */
  const commit = async (a: Archive, items: Pending[], drop: Set<Entry>) => {
    if (a.fh && drop.size === 0 && a.dir.prefix === 0 && !a.fromJournal && !mostlyExpired(a.dir)) {
      await append(path, a.dir, items);
      a.stamp = stampOf(await stat(path));
      return;
    }
    await replace(a, items, drop);
  };

  /** Rewrites the archive without `drop` and expired entries, plus `items`. */
  const replace = async (a: Archive, items: Pending[], drop: Set<Entry>) => {
    const now = Date.now();
    const keep = a.dir.entries.filter((e) => !drop.has(e) && (e.kind !== "file" || alive(e, now)));
    if (!a.fh) await mkdir(dirname(path), { recursive: true });
    const { fh, dir } = await rewrite(path, a.fh ? source(a) : null, keep, items, a.dir.comment);
    await cache.written(dir, fh);
  };

  const pending = (
    key: string,
    o: WriteOptions,
    v: { method: number; crc: number; size: number; csize: number },
    payload: Pending["payload"],
  ): Pending => {
    const mtime = new Date();
    const expiresAt = o.ttl ? mtime.getTime() + o.ttl * 1000 : 0;
    return { entry: newEntry(key, { ...v, mtime, expiresAt }), payload };
  };

  /** A value ready to be written: small ones deflated in memory, larger ones into a spool file a slice at a time. */
  const prepare = async (key: string, value: Uint8Array, o: WriteOptions, spools: Spool[]): Promise<Pending> => {
    if (value.byteLength <= SPOOL_ABOVE) {
      const c = compress(value, level);
      return pending(key, o, c, { bytes: c.data });
    }
    await mkdir(dirname(path), { recursive: true });
    const spool = await Spool.create(path, level);
    spools.push(spool);
    await spool.write(value);
    await spool.finish();
    return pending(key, o, spool, { file: spool.file, path: spool.path });
  };

  const putMany = async (entries: Array<[string, Uint8Array]>, o: WriteOptions) => {
    const last = new Map(entries); // a key given twice: the last value wins
    const spools: Spool[] = [];
    try {
      const items: Pending[] = [];
      for (const [key, value] of last) items.push(await prepare(key, value, o, spools));
      await exclusive(async (a) => {
        const drop = new Set<Entry>();
        const batch = newBatch();
        for (const item of items) keepCreated(item, plan(a.dir, item.entry.key, o, drop, batch));
        await commit(a, items, drop);
      });
    } catch (error) {
      throw wrap(error);
    } finally {
      await Promise.all(spools.map((spool) => spool.discard()));
    }
  };

  const withEntry = async <R>(key: string, use: (a: Archive, e: Entry) => Promise<R>): Promise<R | null> => {
    const found = await live(key);
    if (!found) return null;
    cache.hold(found.a);
    try {
      return await use(found.a, found.e);
    } catch (error) {
      throw wrap(error);
    } finally {
      release(found.a);
    }
  };

  const driver: StampedDriver & SignedListingDriver = {
    name: DRIVER_NAME,
    // `watch` polls (SPEC 11), listing again only when this identity of the archive has changed.
    stamp: () =>
      stat(path).then(stampOf, (error) =>
        (error as NodeJS.ErrnoException).code === "ENOENT" ? null : Promise.reject(wrap(error)),
      ),
    capabilities: {
      ttl: true,
      ifNotExists: true,
      streams: true,
      ranges: true,
      batch: true,
      paths: true,
      createdAt: true,
    },
    get: (key) => withEntry(key, (a, e) => entryBytes(source(a), e, limits)),
    async getMany(keys) {
      const a = cache.hold(await current());
      try {
        const now = Date.now();
        const found: Array<[number, Entry]> = [];
        keys.forEach((key, i) => {
          const e = a.dir.files.get(key);
          if (alive(e, now)) found.push([i, e]);
        });
        // In archive order through one read window: neighbouring small entries share one read.
        found.sort((x, y) => x[1].offset - y[1].offset);
        const src: Source = { ...source(a), window: new Window(a.fh!, path) };
        const values: Array<Uint8Array | null> = keys.map(() => null);
        for (const [i, e] of found) values[i] = await entryBytes(src, e, limits);
        return values;
      } catch (error) {
        throw wrap(error);
      } finally {
        release(a);
      }
    },
    put: (key, value, o) => putMany([[key, value]], o),
    putMany,
    async delete(key) {
      await driver.deleteMany!([key]);
    },
    async deleteMany(keys) {
      if ((await current()).stamp === null) return; // no archive: nothing to delete, and nothing to create
      await exclusive(async (a) => {
        const drop = new Set<Entry>();
        for (const key of keys) dropAll(a.dir, key, drop);
        if (drop.size) await replace(a, [], drop);
      });
    },
    has: async (key) => (await live(key)) !== null,
    async info(key): Promise<DriverInfo | null> {
      const found = await live(key);
      if (!found) return null;
      const { e } = found;
      return {
        size: e.size,
        createdAt: e.createdAt,
        updatedAt: e.mtime,
        etag: `"${e.crc.toString(16).padStart(8, "0")}-${e.size.toString(16)}"`,
      };
    },
    async read(key, range) {
      const found = await live(key);
      if (!found) return null;
      cache.hold(found.a);
      try {
        return entryStream(source(found.a), found.e, range, limits, () => release(found.a));
      } catch (error) {
        release(found.a);
        throw error;
      }
    },
    async write(key, o) {
      // Fail early on a key that cannot be written; the check is repeated when the value commits.
      plan((await current()).dir, key, o, new Set());
      await mkdir(dirname(path), { recursive: true });
      const spool = await Spool.create(path, level).catch((error) => Promise.reject(wrap(error)));
      return new WritableStream<Uint8Array>({
        write: (chunk) => spool.write(chunk),
        close: async () => {
          try {
            await spool.finish();
            const item = pending(key, o, spool, { file: spool.file, path: spool.path });
            await exclusive(async (a) => {
              const drop = new Set<Entry>();
              keepCreated(item, plan(a.dir, key, o, drop));
              await commit(a, [item], drop);
            });
          } finally {
            await spool.discard();
          }
        },
        abort: () => spool.discard(),
      });
    },
    async *list(prefix) {
      const now = Date.now();
      const keys: string[] = [];
      for (const [key, e] of (await current()).dir.files) if (key.startsWith(prefix) && alive(e, now)) keys.push(key);
      yield keys; // one page: the directory is in memory already
    },
    // For watch's polling (SignedListingDriver): the directory says what changed, with no lookup per key.
    async *listSignatures(prefix) {
      const now = Date.now();
      for (const [key, e] of (await current()).dir.files) {
        if (key.startsWith(prefix) && alive(e, now)) yield [key, `${e.crc}|${e.size}|${e.mtime?.getTime()}`];
      }
    },
    async sweep() {
      if ((await current()).stamp === null) return 0;
      return exclusive(async (a) => {
        await sweepTemps(path, TEMP_MAX_AGE);
        const now = Date.now();
        const expired = new Set(a.dir.entries.filter((e) => e.kind === "file" && !alive(e, now)));
        if (expired.size) await replace(a, [], expired);
        return expired.size;
      });
    },
    async close() {
      await queue;
      cache.close();
    },
  };
  return driver;
}

/** Wraps a filesystem failure as an `AnystoreError` (code IO) with the original as cause. */
function wrap(error: unknown): AnystoreError {
  if (isAnystoreError(error)) return error;
  const code = (error as NodeJS.ErrnoException)?.code;
  return new AnystoreError(`${code ?? "error"}: ${(error as Error)?.message ?? error}`, { cause: error });
}

/**
 * The factory the uri registry calls: `zip:///abs/a.zip`, `file:///abs/a.zip`, `./a.zip`, with the
 * store options `maxEntrySize`, `maxGetSize`, `maxRatio`, `lockTimeout` and `level`.
 * @example
 * const store = createStore("./export.zip", { level: 9 }); // calls zipDriverFromUri
 */
export function zipDriverFromUri(uri: string, options: Record<string, unknown>): Driver {
  // Given values of any type reach zipDriver, which rejects bad ones with InvalidArgumentError.
  const pick = (name: string) => (options[name] === undefined ? {} : { [name]: options[name] as number });
  return zipDriver({
    path: uri,
    ...pick("maxEntrySize"),
    ...pick("maxGetSize"),
    ...pick("maxRatio"),
    ...pick("lockTimeout"),
    ...pick("level"),
  });
}
