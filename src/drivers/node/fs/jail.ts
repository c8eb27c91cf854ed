/**
 * Keeps the fs driver's file operations inside its root while other processes rename folders
 * or swap them for symlinks. Node has no `openat()`, so:
 *
 * - On Linux (procfs), a folder is pinned: opened, and checked by where its descriptor really
 *   is (`readlink /proc/self/fd/N`). Operations then name `/proc/self/fd/N/NAME`, which the
 *   kernel resolves through the open descriptor, not the path: a folder swapped for a symlink
 *   after the check cannot redirect them (openat emulation). Reads open the file and check the
 *   opened descriptor the same way. Race-free.
 * - Elsewhere, the folder's real path is checked right before each operation and final
 *   components are opened with O_NOFOLLOW: the window shrinks to the gap between two calls.
 *
 * The root's real path is resolved once and trusted (whoever controls its parents controls the
 * store), so top-level keys need no check: their only component is never followed out of it.
 * Folders are created one level at a time inside a pinned parent, never through a symlink that
 * leaves the root.
 */
import { randomBytes } from "node:crypto";
import type { Stats } from "node:fs";
import * as fs from "node:fs";
import { join, sep } from "node:path";
import { ConflictError, InvalidKeyError } from "../../../core/errors.js";
import { RESERVED } from "../../../core/keys.js";
import * as io from "./io.js";
import * as pins from "./pins.js";
import { closeOnce, type Pin, PROC_FD } from "./pins.js";

export type { Pin } from "./pins.js";

const { O_RDONLY, O_DIRECTORY, O_NOFOLLOW, O_NONBLOCK } = fs.constants;
/** O_NONBLOCK: a FIFO planted at a key opens at once (and reads as missing) instead of hanging a thread. */
const READ = O_RDONLY | (O_NONBLOCK ?? 0);
const NOFOLLOW = O_NOFOLLOW ?? 0;
const DIR = O_RDONLY | (O_DIRECTORY ?? 0);

/** Names of the driver's temp files (`.anystore-tmp-…`): reserved, so never listed; `sweep()` removes old ones. */
export const TEMP_PREFIX = `${RESERVED}-tmp-`;

const noop = () => {};

/** `a/b/c` → [`a/b`, `c`]; `c` → [``, `c`]. */
export function splitKey(key: string): [string, string] {
  const slash = key.lastIndexOf("/");
  return slash < 0 ? ["", key] : [key.slice(0, slash), key.slice(slash + 1)];
}

export class Jail {
  #real: string | undefined;
  #resolving: Promise<string | null> | undefined;
  #procfs = false;
  /** Unique per driver (a random tag) and per file (a counter); O_EXCL refuses any clash. */
  readonly #tempTag = `${TEMP_PREFIX}${randomBytes(4).toString("hex")}-`;
  #temps = 0;

  /** `procfs: false` forces the portable checks (tests use it to cover other platforms on Linux). */
  constructor(
    readonly given: string,
    readonly follow: boolean,
    readonly procfs?: false,
  ) {}

  tempName(): string {
    return this.#tempTag + (this.#temps++).toString(36);
  }

  /** The root's real path, resolved on first use (the driver is made without I/O); null while the root does not exist. */
  async root(): Promise<string | null> {
    if (this.#real !== undefined) return this.#real;
    this.#resolving ??= this.#resolve().finally(() => (this.#resolving = undefined));
    return this.#resolving;
  }

  async #resolve(): Promise<string | null> {
    const [real, procfs] = await Promise.all([
      fs.promises.realpath(this.given).catch((error) => (io.isMissing(error) ? null : Promise.reject(error))),
      this.procfs !== false && process.platform === "linux" && io.exists(PROC_FD),
    ]);
    this.#procfs = procfs;
    if (real !== null) this.#real = real;
    return real;
  }

  /** The root, created when missing (with its parents: the root path is trusted). */
  async #ensureRoot(): Promise<string> {
    await fs.promises.mkdir(this.#real ?? this.given, { recursive: true });
    return (await this.root())!;
  }

  #inside(real: string, root: string): boolean {
    return real === root || real.startsWith(root.endsWith(sep) ? root : root + sep);
  }

  #check(real: string, root: string, key: string): void {
    if (!this.#inside(real, root))
      throw new InvalidKeyError(`key ${JSON.stringify(key)} leads outside the store through a symlink`, { key });
  }

  /**
   * Pins the folder at `path` (through a pinned parent, or `expected` itself), checking where it
   * really is; `expected` is its path when no symlink leads there, the cache's key.
   */
  async #pinPath(path: string, expected: string, root: string, key: string): Promise<Pin> {
    if (this.follow) return { at: path, release: noop };
    if (!this.#procfs) {
      const real = await fs.promises.realpath(path);
      this.#check(real, root, key);
      return { at: real, release: noop };
    }
    const cached = await pins.reuse(expected);
    if (cached) return cached;
    const fd = await io.open(path, DIR);
    let real: string;
    try {
      real = await io.readlink(`${PROC_FD}/${fd}`);
      this.#check(real, root, key);
    } catch (error) {
      io.closeSoon(fd);
      throw error;
    }
    return real === expected ? pins.keep(expected, fd) : { at: `${PROC_FD}/${fd}`, release: closeOnce(fd) };
  }

  /** Pins an existing folder (relative to the root, `""` for the root); null when it is missing. */
  async pin(relDir: string, key: string): Promise<Pin | null> {
    const root = await this.root();
    if (root === null) return null;
    if (relDir === "") return { at: root, release: noop };
    const path = join(root, relDir);
    return this.#pinPath(path, path, root, key).catch((error) => (io.isMissing(error) ? null : Promise.reject(error)));
  }

  /**
   * Pins a folder, creating missing levels one at a time, each inside its pinned parent. A file
   * in the way is a `ConflictError`; ENOENT means a concurrent delete removed a level just made
   * (the caller retries).
   */
  async pinOrCreate(relDir: string, key: string): Promise<Pin> {
    const root = await this.#ensureRoot();
    let pin: Pin = { at: root, release: noop };
    let expected = root;
    for (const name of relDir === "" ? [] : relDir.split("/")) {
      const parent = pin;
      expected = join(expected, name);
      try {
        await io
          .mkdir(join(parent.at, name))
          .catch((error) => (io.codeOf(error) === "EEXIST" ? undefined : Promise.reject(error)));
        pin = await this.#pinPath(join(parent.at, name), expected, root, key);
      } catch (error) {
        if (io.codeOf(error) === "ENOTDIR")
          throw new ConflictError(`cannot write ${key}: a parent of it is a key`, { key, cause: error });
        throw error;
      } finally {
        parent.release();
      }
    }
    return pin;
  }

  /**
   * Creates a new file in the key's folder (made when missing) through `create(path)`, retried
   * while a concurrent delete removes the emptied folder between the pin and the create. The
   * caller releases `pin` once done with the file.
   */
  async createIn<T>(
    relDir: string,
    key: string,
    create: (path: string) => Promise<T>,
  ): Promise<{ pin: Pin; temp: string; value: T }> {
    for (let attempt = 0; ; attempt++) {
      const pin = attempt === 0 ? await this.pin(relDir, key) : await this.#pinRetrying(relDir, key, attempt);
      if (pin === null) continue;
      const temp = this.tempName();
      try {
        return { pin, temp, value: await create(join(pin.at, temp)) };
      } catch (error) {
        pin.release();
        if (io.codeOf(error) === "ENOTDIR")
          throw new ConflictError(`cannot write ${key}: a parent of it is a key`, { key, cause: error });
        if (io.codeOf(error) !== "ENOENT" || attempt >= FOLDER_RETRIES) throw error;
      }
    }
  }

  async #pinRetrying(relDir: string, key: string, attempt: number): Promise<Pin | null> {
    try {
      return await this.pinOrCreate(relDir, key);
    } catch (error) {
      if (io.codeOf(error) === "ENOENT" && attempt < FOLDER_RETRIES) return null;
      throw error;
    }
  }

  /** Opens a file for reading, checked to lie inside the root; null when missing. */
  async openRead(rel: string, key: string): Promise<number | null> {
    const root = await this.root();
    if (root === null) return null;
    const path = join(root, rel);
    try {
      if (this.follow) return await io.open(path, READ);
      if (this.#procfs) return await this.#openChecked(path, root, key, !rel.includes("/"));
      return await this.#openRealPath(rel, key);
    } catch (error) {
      if (io.isMissing(error)) return null;
      throw error;
    }
  }

  /** Linux: opens the file and checks where the opened descriptor really is (no window between check and use). */
  async #openChecked(path: string, root: string, key: string, topLevel: boolean): Promise<number> {
    if (topLevel) {
      try {
        return await io.open(path, READ | NOFOLLOW); // the common case: no symlink, nothing to check
      } catch (error) {
        if (io.codeOf(error) !== "ELOOP") throw error;
      }
    }
    const fd = await io.open(path, READ);
    try {
      // A file replaced since it was opened reads "PATH (deleted)": still its folder's path.
      this.#check(await io.readlink(`${PROC_FD}/${fd}`), root, key);
    } catch (error) {
      io.closeSoon(fd);
      throw error;
    }
    return fd;
  }

  /** Elsewhere: the folder's real path is checked, then the file opened without following a final symlink. */
  async #openRealPath(rel: string, key: string): Promise<number> {
    const [relDir, name] = splitKey(rel);
    const pin = await this.pin(relDir, key);
    if (pin === null) throw Object.assign(new Error("missing folder"), { code: "ENOENT" });
    const path = join(pin.at, name);
    try {
      return await io.open(path, READ | NOFOLLOW);
    } catch (error) {
      if (io.codeOf(error) !== "ELOOP" && io.codeOf(error) !== "EMLINK") throw error;
    }
    const real = await fs.promises.realpath(path);
    this.#check(real, (await this.root())!, key);
    return io.open(real, READ | NOFOLLOW);
  }

  /** A file's lstat through its pinned folder; null when missing. */
  async lstat(rel: string, key: string): Promise<Stats | null> {
    const [relDir, name] = splitKey(rel);
    return this.inPin(relDir, key, (at) =>
      io.lstat(join(at, name)).catch((error) => (io.isMissing(error) ? null : Promise.reject(error))),
    );
  }

  /** Runs `fn` with an existing folder pinned; null when it is missing. */
  async inPin<T>(relDir: string, key: string, fn: (at: string) => Promise<T | null>): Promise<T | null> {
    const pin = await this.pin(relDir, key);
    if (pin === null) return null;
    try {
      return await fn(pin.at);
    } finally {
      pin.release();
    }
  }

  /**
   * Removes `relDir` and its parents while they are empty, up to (not including) `stop`. Each
   * goes through its pinned parent, so no folder outside the root is touched.
   */
  async prune(relDir: string, stop = ""): Promise<void> {
    while (relDir !== stop && relDir !== "") {
      const [parent, name] = splitKey(relDir);
      const removed = await this.inPin(parent, relDir, (at) =>
        io.rmdir(join(at, name)).then(
          () => true,
          () => null,
        ),
      ).catch(() => null);
      if (!removed) return;
      relDir = parent;
    }
  }

  /** The real path of a pinned folder (for the folders a listing finds in it). */
  async realOf(pin: Pin): Promise<string> {
    return pin.at.startsWith(`${PROC_FD}/`) ? io.readlink(pin.at) : pin.at;
  }

  /**
   * A folder for listing, by its real path: pinned when it is still exactly there (not renamed,
   * not swapped for a symlink since the walk found it), else null and skipped.
   */
  async pinListing(real: string): Promise<Pin | null> {
    if (this.follow) return { at: real, release: noop };
    try {
      if (!this.#procfs) return (await fs.promises.realpath(real)) === real ? { at: real, release: noop } : null;
      const fd = await io.open(real, DIR | NOFOLLOW);
      const at = `${PROC_FD}/${fd}`;
      if ((await io.readlink(at).catch(() => null)) === real) return { at, release: closeOnce(fd) };
      io.closeSoon(fd);
      return null;
    } catch (error) {
      if (io.isMissing(error) || io.codeOf(error) === "ELOOP") return null;
      throw error;
    }
  }
}

/** Attempts at creating a file in a folder that concurrent deletes keep removing (each loss needs a delete in between). */
const FOLDER_RETRIES = 100;
