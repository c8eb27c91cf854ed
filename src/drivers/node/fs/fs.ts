import type { Stats } from "node:fs";
import { isAbsolute, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { alreadyExists } from "../../../core/already-exists.js";
import type { Driver, WriteOptions } from "../../../core/driver/contract.js";
import { AnystoreError, InvalidArgumentError } from "../../../core/errors.js";
import { sliceBytes } from "../../../core/streams/from-bytes.js";
import { conflictOr, folderConflict, infoOf, oneChunk, refuseLongNames, streamFile, unlinkFile } from "./files.js";
import * as io from "./io.js";
import { Jail, type Pin, splitKey } from "./jail.js";
import { reap, removeIfSame } from "./reap.js";
import { Sidecars, TTL_MARK } from "./ttl.js";
import { walk } from "./walk.js";
import { watchTree } from "./watch.js";

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
  /**
   * Seconds after its last write that `sweep()` takes a temp file for the leftover of a killed
   * writer and removes it. @default 3600
   */
  tempMaxAge?: number;
  /**
   * A folder outside the root for the driver's metadata (TTL expiry times, in `METADATA/ttl/`),
   * so the root holds only the values, exactly Python anystore's layout: nothing under
   * `ROOT/.anystore` for Python (or any program that walks the folder) to list as keys. Every
   * process sharing the root must then use the same folder. Also `file:///root?metadataDir=/meta`.
   * @default undefined (`ROOT/.anystore`)
   */
  metadataDir?: string;
}

/** The root directory a uri or path names. */
export function rootOf(uri: string): string {
  if (/^file:\/\//i.test(uri)) return fileURLToPath(uri); // a query (`?metadataDir=`) is not part of the path
  return resolve(uri.replace(/^fs:\/\//i, ""));
}

/**
 * The sidecars' home: `ROOT/.anystore/ttl` by default, else `metadataDir/ttl` in a jail of its
 * own. A metadata folder inside the root would be listed as keys, so it is refused.
 */
function sidecarsFor(jail: Jail, root: string, metadataDir: string | undefined, follow: boolean): Sidecars {
  if (metadataDir === undefined) return new Sidecars(jail);
  const meta = rootOf(metadataDir);
  const inside = relative(root, meta);
  if (inside === "" || (!inside.startsWith("..") && !isAbsolute(inside)))
    throw new InvalidArgumentError(
      `metadataDir ${JSON.stringify(metadataDir)} is inside the store's root ${JSON.stringify(root)}: use a folder outside it`,
    );
  return new Sidecars(new Jail(meta, follow), "ttl");
}

/** Attempts at an `ifNotExists` link that keeps meeting a key which then turns out expired or gone. */
const LINK_RETRIES = 20;

/**
 * Stores each key as a file: key `a/b.txt` is `ROOT/a/b.txt`, Python anystore's layout, so
 * existing directories read as stores. Writes go to a temp file in the target directory and
 * are renamed into place (atomic; `ifNotExists` links instead, which refuses an existing key);
 * TTLs live in `ROOT/.anystore/ttl/` (or `metadataDir`), never listed. Every operation stays inside the root's
 * real path even while folders are swapped for symlinks (see jail.ts).
 * @example
 * const store = createStore({ driver: fsDriver({ root: "./data" }) });
 */
export function fsDriver(opts: FsDriverOptions = {}): Driver {
  const root = rootOf(opts.root ?? ".anystore");
  const jail = new Jail(root, opts.followSymlinks ?? false, (opts as { procfs?: false }).procfs);
  const sidecars = sidecarsFor(jail, root, opts.metadataDir, opts.followSymlinks ?? false);
  const tempMaxAge = (opts.tempMaxAge ?? 3600) * 1000;

  /** A key's stats (through a symlink only inside the root); null when missing, expired or a folder. */
  const statOf = async (key: string): Promise<Stats | null> => {
    let stats = await jail.lstat(key, key);
    if (stats?.isSymbolicLink()) stats = await statThroughLink(key);
    if (!stats?.isFile()) return null;
    return (await expired(key, stats)) ? null : stats;
  };

  const statThroughLink = async (key: string): Promise<Stats | null> => {
    const fd = await jail.openRead(key, key);
    if (fd === null) return null;
    try {
      return await io.fstat(fd);
    } finally {
      io.closeSoon(fd);
    }
  };

  /** True when the value carries a ttl that has passed (it is then removed). */
  const expired = async (key: string, stats: Stats): Promise<boolean> => {
    if (!(stats.mode & TTL_MARK)) return false;
    const expiresAt = await sidecars.read(key);
    if (expiresAt === null || expiresAt > Date.now()) return false;
    await removeExpired(key, stats);
    return true;
  };

  /**
   * Removes an expired value, unless another writer has replaced it since it was judged, so a
   * fresh value (say a lock just taken) is never deleted. Readers that judged the same file
   * take turns (a reap lock per key); the file must still be the one judged (by inode), and is
   * moved aside and compared again, then put back if a put replaced it meanwhile. The sidecar
   * goes first (only while still expired): a key linked right after the value goes must never
   * meet the old, passed expiry.
   */
  const removeExpired = async (key: string, judged: Stats): Promise<boolean> => {
    const [relDir, name] = splitKey(key);
    const removed = await jail.inPin(relDir, key, (at) =>
      reap(jail, at, name, judged, () => sidecars.dropIfExpired(key)),
    );
    if (removed) await jail.prune(relDir);
    return removed === true;
  };

  /**
   * Opens a key for reading: its stats and, when small, its bytes (the descriptor is then
   * closed; else it stays open for the caller). Null when missing, a folder or expired.
   */
  const openFile = async (key: string): Promise<{ fd: number; stats: Stats; bytes: Uint8Array | undefined } | null> => {
    const fd = await jail.openRead(key, key).catch((error) => Promise.reject(io.wrap(error, key)));
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

  /** A new temp file in the key's folder (created when missing), written by `create`. */
  const createTemp = async <T>(key: string, create: (path: string) => Promise<T>) => {
    refuseLongNames(key);
    return jail.createIn(splitKey(key)[0], key, create).catch((error) => Promise.reject(io.wrap(error, key)));
  };

  /** Moves a finished temp file into place: rename, or link for ifNotExists (atomic, refuses an existing key). */
  const commit = async (pin: Pin, temp: string, key: string, o: WriteOptions) => {
    const name = splitKey(key)[1];
    try {
      if (o.ifNotExists) {
        await linkNew(pin, temp, key, o);
      } else {
        if (o.ttl) await sidecars.write(key, Date.now() + o.ttl * 1000);
        await io.rename(join(pin.at, temp), join(pin.at, name));
        if (!o.ttl) await dropStaleExpiry(key);
      }
    } catch (error) {
      await io.unlinkQuiet(join(pin.at, temp)).catch(() => {});
      throw conflictOr(error, key);
    }
  };

  /**
   * Links the temp file to the key, which fails on any existing file. An existing key that
   * turns out expired is removed and the link tried again; a folder is a `ConflictError`. The
   * ttl is recorded only once the key is won, so a refused write changes nothing.
   */
  const linkNew = async (pin: Pin, temp: string, key: string, o: WriteOptions) => {
    const tempPath = join(pin.at, temp);
    const target = join(pin.at, splitKey(key)[1]);
    try {
      for (let attempt = 0; ; attempt++) {
        const linked = await io.link(tempPath, target).then(
          () => true,
          (error) => (io.codeOf(error) === "EEXIST" ? false : Promise.reject(error)),
        );
        if (linked) break;
        if ((await io.lstat(target).catch(() => null))?.isDirectory()) throw folderConflict(key);
        if ((await statOf(key)) !== null || attempt >= LINK_RETRIES) throw alreadyExists(key);
        // Expired: removed by us, or by another reader right now (give it a moment).
        if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, attempt));
      }
      if (o.ttl) await recordNewExpiry(pin, tempPath, key, Date.now() + o.ttl * 1000);
    } finally {
      await io.unlinkQuiet(tempPath);
    }
  };

  /** The sidecar of a key just won; when it cannot be written, the key goes again (no value without its expiry). */
  const recordNewExpiry = async (pin: Pin, tempPath: string, key: string, expiresAt: number) => {
    try {
      await sidecars.write(key, expiresAt);
    } catch (error) {
      const ours = await io.lstat(tempPath);
      await removeIfSame(jail, pin.at, splitKey(key)[1], ours).catch(() => {});
      throw error;
    }
  };

  /**
   * After a put without ttl: a sidecar of an earlier ttl put goes, when there is a ttl folder at
   * all (the new value carries no mark, so a leftover would only be harmless clutter).
   */
  const dropStaleExpiry = async (key: string) => {
    if (await sidecars.any()) await sidecars.drop(key);
  };

  const put = async (key: string, value: Uint8Array, o: WriteOptions) => {
    const mode = o.ttl ? 0o666 | TTL_MARK : 0o666;
    const { pin, temp, value: fd } = await createTemp(key, (path) => io.writeNew(path, value, mode));
    try {
      // The bytes are written: the rename need not wait for the close.
      await Promise.all([
        io.close(fd).catch((error) => Promise.reject(io.wrap(error, key))),
        commit(pin, temp, key, o),
      ]);
    } finally {
      pin.release();
    }
  };

  /** Deletes a key: its sidecar first, so a key created right after the value goes keeps its own. */
  /**
   * One unlink in the common case. The value's mode is looked at first only while some key has
   * had a ttl (its sidecar goes too; one another process added is harmless, see ttl.ts), and the
   * folder is pruned only when a file went from a subfolder (the rmdir is the emptiness check).
   */
  const remove = async (key: string) => {
    const [relDir, name] = splitKey(key);
    const existed = await jail.inPin(relDir, key, async (at) => {
      const path = join(at, name);
      if (!(await sidecars.any())) return unlinkFile(path);
      const stats = await io.lstat(path).catch((error) => (io.isMissing(error) ? null : Promise.reject(error)));
      if (!stats || stats.isDirectory()) return null;
      if (stats.mode & TTL_MARK) await sidecars.drop(key);
      return io.unlinkQuiet(path);
    });
    if (existed && relDir !== "") await jail.prune(relDir);
  };

  /** Removes a temp file older than `tempMaxAge` (a killed writer's leftover); a value's folder goes once empty. */
  const removeOldTemp = async (within: Jail, rel: string, prune: boolean) => {
    const [relDir, name] = splitKey(rel);
    const removed = await within.inPin(relDir, rel, async (at) => {
      const stats = await io.lstat(join(at, name)).catch(() => null);
      if (!stats?.isFile() || stats.mtimeMs > Date.now() - tempMaxAge) return null;
      return io.unlinkQuiet(join(at, name));
    });
    if (removed && prune) await within.prune(relDir);
  };

  /**
   * For listing and sweeping: null unless the key's value has expired; then whether this call
   * removed it (false: another reader is at it, or a writer replaced it just now).
   */
  const expiredByPath = async (key: string): Promise<boolean | null> => {
    const expiresAt = await sidecars.read(key);
    if (expiresAt === null || expiresAt > Date.now()) return null;
    const stats = await jail.lstat(key, key);
    if (!stats || !(stats.mode & TTL_MARK)) {
      await sidecars.dropIfExpired(key); // stale: the key was deleted or rewritten without ttl
      return null;
    }
    return removeExpired(key, stats);
  };

  /** The keys of a listed page whose value has not expired (asked only when some key has had a ttl). */
  const unexpired = async (keys: string[]): Promise<string[]> => {
    const kept: string[] = [];
    for (const key of keys) if ((await expiredByPath(key)) === null) kept.push(key);
    return kept;
  };

  const symlinkedFileInside = async (key: string) => {
    const stats = await statThroughLink(key).catch(() => null);
    return stats?.isFile() ?? false;
  };

  const driver: Driver = {
    name: DRIVER_NAME,
    capabilities: {
      ttl: true,
      ifNotExists: true,
      streams: true,
      ranges: true,
      paths: true,
      createdAt: true,
      watch: true,
    },
    async get(key) {
      const file = await openFile(key);
      if (!file) return null;
      return (
        file.bytes ?? io.readRange(file.fd, 0, file.stats.size).catch((error) => Promise.reject(io.wrap(error, key)))
      );
    },
    put,
    // One watcher per folder under the root (watch.ts); the root is made when missing.
    watch: (prefix, emit, signal) => watchTree(jail.given, () => jail.root(), prefix, emit, signal),
    async delete(key) {
      await remove(key).catch((error) => Promise.reject(io.wrap(error, key)));
    },
    async has(key) {
      return (await statOf(key).catch((error) => Promise.reject(io.wrap(error, key)))) !== null;
    },
    async info(key) {
      const stats = await statOf(key).catch((error) => Promise.reject(io.wrap(error, key)));
      return stats && infoOf(stats);
    },
    async read(key, range) {
      const file = await openFile(key);
      if (!file) return null;
      return file.bytes ? oneChunk(sliceBytes(file.bytes, range)) : streamFile(file.fd, file.stats, range);
    },
    async write(key, o) {
      // Refused before the caller streams a body; the link at the end is what decides.
      if (o.ifNotExists && (await driver.has!(key))) throw alreadyExists(key);
      const mode = o.ttl ? 0o666 | TTL_MARK : 0o666;
      const { pin, temp, value: fd } = await createTemp(key, (path) => io.createFile(path, mode));
      const wrap = (error: unknown) => io.wrap(error, key);
      return io.writableFile(
        fd,
        join(pin.at, temp),
        () => commit(pin, temp, key, o),
        wrap,
        () => pin.release(),
      );
    },
    async *list(prefix) {
      const start = prefix.replace(/\/$/, "");
      const checkTtl = sidecars.anyRecently(); // never rejects; looked up while the walk starts
      for await (const { files, symlinks } of walk(jail, "", start)) {
        for (const key of symlinks) if (await symlinkedFileInside(key)) files.push(key);
        yield (await checkTtl) ? await unexpired(files) : files;
      }
    },
    async sweep() {
      let removed = 0;
      for await (const { files, temps } of walk(sidecars.jail, sidecars.dir, "", { temps: true })) {
        for (const temp of temps) await removeOldTemp(sidecars.jail, `${sidecars.dir}/${temp}`, false);
        for (const key of files) if ((await expiredByPath(key)) === true) removed++;
      }
      for await (const { temps } of walk(jail, "", "", { temps: true })) {
        for (const temp of temps) await removeOldTemp(jail, temp, true);
      }
      return removed;
    },
  };
  return driver;
}

/** The factory the uri registry calls: `./dir`, `/abs/dir`, `dir`, `file:///abs/dir`. */
export function fsDriverFromUri(uri: string, options: Record<string, unknown>): Driver {
  const root = rootOf(uri);
  if (!isAbsolute(root) || relative(root, root) !== "") throw new AnystoreError(`bad fs root ${uri}`);
  const tempMaxAge = typeof options.tempMaxAge === "number" ? options.tempMaxAge : undefined;
  const fromQuery = /^file:\/\//i.test(uri) ? new URL(uri).searchParams.get("metadataDir") : null;
  const metadataDir = typeof options.metadataDir === "string" ? options.metadataDir : (fromQuery ?? undefined);
  return fsDriver({ root, followSymlinks: options.followSymlinks === true, tempMaxAge, metadataDir });
}
