import { randomBytes } from "node:crypto";
import { constants, promises as fsp } from "node:fs";
import type { Stats } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import type { ByteRange, Driver, DriverInfo, WriteOptions } from "../../core/driver.js";
import { AlreadyExistsError, AnystoreError, ConflictError, InvalidKeyError } from "../../core/errors.js";
import { RESERVED } from "../../core/keys.js";
import { sliceBytes } from "../../core/streams.js";
import * as io from "./fs-io.js";
import { walk } from "./fs-walk.js";

export const DRIVER_NAME = "fs";

export interface FsDriverOptions {
  /** The root directory (a path or `file://` uri). @default ".anystore" */
  root?: string;
  /**
   * Follow symlinks whose real path leaves the root. When false, such a read or write is an
   * `InvalidKeyError`; symlinks that stay inside the root always work.
   * @default false
   */
  followSymlinks?: boolean;
}

/** Marks files that carry a ttl (the sticky bit, ignored for files by Linux and macOS): only they need the sidecar read. */
const TTL_MARK = 0o1000;
const TTL_DIR = `${RESERVED}/ttl`;

/** The root directory a uri or path names. */
export function rootOf(uri: string): string {
  if (/^file:\/\//i.test(uri)) return fileURLToPath(uri);
  return resolve(uri.replace(/^fs:\/\//i, ""));
}

/**
 * Stores each key as a file: key `a/b.txt` is `ROOT/a/b.txt`, Python anystore's layout, so
 * existing directories read as stores. Writes go to a temp file in the target directory and
 * are renamed into place (atomic); TTLs live in `ROOT/.anystore/ttl/`, never listed.
 * @example
 * const store = createStore({ driver: fsDriver({ root: "./data" }) });
 */
export function fsDriver(opts: FsDriverOptions = {}): Driver {
  const root = rootOf(opts.root ?? ".anystore");
  const follow = opts.followSymlinks ?? false;
  const pathOf = (key: string) => join(root, key);
  const ttlPath = (key: string) => join(root, TTL_DIR, key);
  /** Directories whose real path was checked to be inside the root. */
  const safeDirs = new Set<string>();
  const resolving = new Map<string, Promise<string | undefined>>();

  const inside = (real: string) => real === root || real.startsWith(root + sep);
  const escape = (key: string) => new InvalidKeyError(`key ${JSON.stringify(key)} leads outside the store through a symlink`, { key });

  /** Throws when a key's directory really lies outside the root (a symlinked parent). */
  const checkDir = async (key: string): Promise<void> => {
    if (follow) return;
    const dir = dirname(pathOf(key));
    if (dir === root || safeDirs.has(dir)) return;
    // Concurrent calls for one folder share one realpath (a readlink per path component).
    let pending = resolving.get(dir);
    if (!pending) {
      pending = fsp.realpath(dir).then(
        (real) => real,
        () => undefined,
      );
      resolving.set(dir, pending);
      void pending.then(() => resolving.delete(dir));
    }
    const real = await pending;
    if (real === undefined) return; // missing: nothing to read, and writes create real directories
    if (!inside(real)) throw escape(key);
    if (safeDirs.size > 10_000) safeDirs.clear();
    safeDirs.add(dir);
  };

  /** Opens a key for reading without following a symlink out of the root; null when missing. */
  const openForRead = async (key: string): Promise<number | null> => {
    await checkDir(key);
    try {
      return await io.open(pathOf(key), follow ? constants.O_RDONLY : constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (error) {
      const code = io.codeOf(error);
      if (code === "ELOOP") return openSymlink(key);
      if (io.isMissing(error)) return null;
      throw io.wrap(error, key);
    }
  };

  const openSymlink = async (key: string): Promise<number | null> => {
    const real = await realInside(key);
    if (real === null) return null;
    return io.open(real, constants.O_RDONLY).catch((error) => (io.isMissing(error) ? null : Promise.reject(io.wrap(error, key))));
  };

  /** True (and the key removed) when the file carries a ttl that has passed. */
  const expired = async (key: string, stats: Stats): Promise<boolean> => {
    if (!(stats.mode & TTL_MARK)) return false;
    const expiresAt = await io.readExpiry(ttlPath(key));
    if (expiresAt === null || expiresAt > Date.now()) return false;
    await removeKey(key);
    return true;
  };

  const removeKey = async (key: string) => {
    await Promise.all([io.unlinkQuiet(pathOf(key)), io.unlinkQuiet(ttlPath(key))]);
    await io.pruneEmptyDirs(root, dirname(pathOf(key)));
  };

  /** A key's stats without opening it (a symlink counts only inside the root); null when missing, expired or a folder. */
  const statOf = async (key: string): Promise<Stats | null> => {
    await checkDir(key);
    let stats: Stats;
    try {
      stats = await io.lstat(pathOf(key));
      if (stats.isSymbolicLink()) {
        const target = follow ? pathOf(key) : await realInside(key);
        if (target === null) return null;
        stats = await io.stat(target);
      }
    } catch (error) {
      if (io.isMissing(error)) return null;
      throw io.wrap(error, key);
    }
    if (!stats.isFile()) return null;
    return (await expired(key, stats)) ? null : stats;
  };

  /** The real path of a symlinked key; an `InvalidKeyError` when it leaves the root, null when dangling. */
  const realInside = async (key: string): Promise<string | null> => {
    const real = await fsp.realpath(pathOf(key)).catch(() => null);
    if (real !== null && !inside(real)) throw escape(key);
    return real;
  };

  /**
   * Opens a key for reading: its stats and, when small, its bytes (the descriptor is then
   * closed; else it stays open for the caller). Null when missing, a folder or expired.
   */
  const openFile = async (key: string): Promise<{ fd: number; stats: Stats; bytes: Uint8Array | undefined } | null> => {
    const fd = await openForRead(key);
    if (fd === null) return null;
    try {
      const { stats, bytes } = await io.statAndSmallRead(fd);
      if (!stats.isFile() || (await expired(key, stats))) {
        io.closeSoon(fd);
        return null;
      }
      if (bytes) io.closeSoon(fd);
      return { fd, stats, bytes };
    } catch (error) {
      io.closeSoon(fd);
      throw io.wrap(error, key);
    }
  };

  /** Creates the parent directories of a key (and the root); a file in the way is a `ConflictError`. */
  const makeParents = async (key: string): Promise<void> => {
    await fsp.mkdir(dirname(pathOf(key)), { recursive: true }).catch((error) => {
      const code = io.codeOf(error);
      if (code === "EEXIST" || code === "ENOTDIR") {
        throw new ConflictError(`cannot write ${key}: a parent of it is a key`, { key, cause: error });
      }
      throw io.wrap(error, key);
    });
    await checkDir(key);
  };

  /**
   * Runs `create` (which makes a new file beside the key), creating the parent folders only
   * when it fails for lack of them: most writes go to folders that exist.
   */
  const inKeyDir = async <R>(key: string, create: () => Promise<R>): Promise<R> => {
    await checkDir(key);
    try {
      return await create();
    } catch (error) {
      const code = io.codeOf(error) ?? io.codeOf((error as Error).cause);
      if (code === "ENOTDIR") throw new ConflictError(`cannot write ${key}: a parent of it is a key`, { key, cause: error });
      if (code !== "ENOENT") throw io.wrap(error, key);
    }
    await makeParents(key);
    return create();
  };

  /** Unique per driver (a random tag) and per write (a counter); O_EXCL refuses any clash. */
  const tempTag = `${RESERVED}-tmp-${randomBytes(4).toString("hex")}-`;
  let temps = 0;
  const tempPath = (dir: string) => join(dir, tempTag + (temps++).toString(36));

  /** Moves a finished temp file into place: rename, or link for ifNotExists (atomic, fails on an existing key). */
  const commit = async (temp: string, key: string, o: WriteOptions) => {
    const target = pathOf(key);
    try {
      if (o.ttl) await io.writeExpiry(ttlPath(key), Date.now() + o.ttl * 1000);
      if (o.ifNotExists) await linkNew(temp, key);
      else await io.rename(temp, target);
      if (!o.ttl) await dropStaleExpiry(key);
    } catch (error) {
      await io.unlinkQuiet(temp);
      const code = io.codeOf(error);
      if (code === "EISDIR" || code === "ENOTEMPTY" || code === "ENOTDIR") {
        throw new ConflictError(`cannot write ${key}: it is a folder of other keys`, { key, cause: error });
      }
      throw io.wrap(error, key);
    }
  };

  const linkNew = async (temp: string, key: string) => {
    try {
      await io.link(temp, pathOf(key));
    } catch (error) {
      if (io.codeOf(error) !== "EEXIST") throw error;
      const live = (await statOf(key)) !== null;
      if (live) throw new AlreadyExistsError(`key already exists: ${key}`, { key });
      await io.link(temp, pathOf(key));
    }
    await io.unlinkQuiet(temp);
  };

  /**
   * A put without ttl over a key that had one: the sidecar goes, when there is a ttl folder at
   * all. It is looked for once (then known from this driver's own ttl puts): a sidecar another
   * process leaves behind is harmless, as reads trust it only on files with the ttl mark.
   */
  let ttlDirSeen = false;
  let ttlDirLooked: Promise<boolean> | undefined;
  const dropStaleExpiry = async (key: string) => {
    if (!ttlDirSeen && !(await (ttlDirLooked ??= io.exists(join(root, TTL_DIR))))) return;
    ttlDirSeen = true;
    await io.unlinkQuiet(ttlPath(key));
  };

  const put = async (key: string, value: Uint8Array, o: WriteOptions) => {
    const temp = tempPath(dirname(pathOf(key)));
    const fd = await inKeyDir(key, () => io.writeNew(temp, value, o.ttl ? 0o666 | TTL_MARK : 0o666));
    if (o.ttl) ttlDirSeen = true;
    // The bytes are written: the rename need not wait for the close.
    await Promise.all([io.close(fd).catch((error) => Promise.reject(io.wrap(error, key))), commit(temp, key, o)]);
  };

  const driver: Driver = {
    name: DRIVER_NAME,
    capabilities: { ttl: true, ifNotExists: true, streams: true, ranges: true, paths: true, createdAt: true },
    async get(key) {
      const file = await openFile(key);
      if (!file) return null;
      return file.bytes ?? io.readRange(file.fd, 0, file.stats.size).catch((error) => Promise.reject(io.wrap(error, key)));
    },
    put,
    async delete(key) {
      await checkDir(key);
      const existed = await io.unlinkQuiet(pathOf(key)).catch((error) => {
        if (io.codeOf(error) === "EISDIR" || io.codeOf(error) === "EPERM") return false;
        throw io.wrap(error, key);
      });
      if (!existed) return;
      if (ttlDirSeen || (await io.exists(join(root, TTL_DIR)))) await io.unlinkQuiet(ttlPath(key));
      await io.pruneEmptyDirs(root, dirname(pathOf(key)));
    },
    async has(key) {
      return (await statOf(key)) !== null;
    },
    async info(key) {
      const stats = await statOf(key);
      return stats && infoOf(stats);
    },
    async read(key, range) {
      const file = await openFile(key);
      if (!file) return null;
      return file.bytes ? oneChunk(sliceBytes(file.bytes, range)) : streamFile(file.fd, file.stats, range);
    },
    async write(key, o) {
      const temp = tempPath(dirname(pathOf(key)));
      const mode = o.ttl ? 0o666 | TTL_MARK : 0o666;
      return inKeyDir(key, () => io.writableFile(temp, mode, () => commit(temp, key, o), (error) => error as Error));
    },
    async *list(prefix) {
      const start = prefix.replace(/\/$/, "");
      const checkTtl = await io.exists(join(root, TTL_DIR));
      for await (const entry of walk(root, start)) {
        if (entry.symlink && !(await symlinkedFileInside(entry.key))) continue;
        if (checkTtl && (await expiredByPath(entry.key))) continue;
        yield entry.key;
      }
    },
    async sweep() {
      let removed = 0;
      for await (const entry of walk(join(root, TTL_DIR), "")) {
        if (await expiredByPath(entry.key)) removed++;
      }
      return removed;
    },
  };

  const symlinkedFileInside = async (key: string) => {
    const real = await fsp.realpath(pathOf(key)).catch(() => null);
    if (real === null || (!follow && !inside(real))) return false;
    return (await fsp.stat(real).catch(() => null))?.isFile() ?? false;
  };

  /** For listing and sweeping: a sidecar that has passed, on a file that carries the mark. */
  const expiredByPath = async (key: string) => {
    const expiresAt = await io.readExpiry(ttlPath(key));
    if (expiresAt === null || expiresAt > Date.now()) return false;
    const stats = await fsp.lstat(pathOf(key)).catch(() => null);
    if (stats && !(stats.mode & TTL_MARK)) {
      await io.unlinkQuiet(ttlPath(key)); // stale: the key was rewritten without ttl
      return false;
    }
    await removeKey(key);
    return true;
  };

  return driver;
}

function infoOf(stats: Stats): DriverInfo {
  return {
    size: stats.size,
    createdAt: stats.birthtimeMs > 0 ? stats.birthtime : null,
    updatedAt: stats.mtime,
    etag: `"${stats.size.toString(16)}-${Math.floor(stats.mtimeMs).toString(16)}"`,
  };
}

/** A web stream over an open descriptor (or a range of it); the descriptor closes with the stream. */
async function streamFile(fd: number, stats: Stats, range: ByteRange | undefined): Promise<ReadableStream<Uint8Array>> {
  const start = Math.min(range?.start ?? 0, stats.size);
  const end = Math.min(range?.end ?? stats.size, stats.size);
  if (end <= start) {
    io.closeSoon(fd);
    return oneChunk(new Uint8Array(0));
  }
  if (end - start <= SMALL_READ) return oneChunk(await io.readRange(fd, start, end - start));
  return io.readableRange(fd, start, end);
}

/** Values up to this size are read at once, into one chunk: cheaper than a streamed read. */
const SMALL_READ = 64 * 1024;

function oneChunk(bytes: Uint8Array): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      if (bytes.byteLength > 0) controller.enqueue(bytes);
      controller.close();
    },
  });
}

/** The factory the uri registry calls: `./dir`, `/abs/dir`, `dir`, `file:///abs/dir`. */
export function fsDriverFromUri(uri: string, options: Record<string, unknown>): Driver {
  const root = rootOf(uri);
  if (!isAbsolute(root) || relative(root, root) !== "") throw new AnystoreError(`bad fs root ${uri}`);
  return fsDriver({ root, followSymlinks: options.followSymlinks === true });
}
