/**
 * The fs driver's change feed (SPEC 11): one inotify-style `fs.watch` per folder (Node's own
 * recursive mode on Linux keeps a stat poller per file), mapped to keys. Every event is checked
 * against the disk (`lstat`), one check per path at a time, so a burst ends in the path's last
 * state: a file is a `put`, a vanished file a `delete`, a new folder is watched and its files are
 * `put`s, a vanished folder is a `delete` for every file it held. Reserved names (temp files,
 * `.anystore` metadata and sidecars) are never looked at, so a write through a temp file and a
 * rename into place is one `put`. A watcher error is a `resync`; a tree with more folders than
 * the system lets a process watch is polled by the store instead (UnsupportedError, see
 * `Driver.watch`).
 */

import type { FSWatcher } from "node:fs";
import { watch as fsWatch } from "node:fs";
import { lstat, mkdir, readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import type { DriverWatchEvent } from "../../../core/driver/contract.js";
import { UnsupportedError } from "../../../core/errors.js";
import { RESERVED } from "../../../core/keys.js";

type Emit = (event: DriverWatchEvent) => void;

/** What a path is on disk now. */
type Kind = "file" | "dir" | "missing";

async function kindOf(path: string): Promise<Kind> {
  try {
    const s = await lstat(path);
    if (s.isFile()) return "file";
    if (s.isDirectory()) return "dir";
    // A symlink counts as what it points at, but is never descended into (it may leave the root).
    if (s.isSymbolicLink()) return (await stat(path).catch(() => null))?.isFile() ? "file" : "missing";
    return "missing";
  } catch {
    return "missing";
  }
}

const joinKey = (dir: string, name: string) => (dir === "" ? name : `${dir}/${name}`);

/** Watches the tree under `root` (created when missing) for keys under `prefix` until `signal` aborts. */
export async function watchTree(
  given: string,
  root: () => Promise<string | null>,
  prefix: string,
  emit: Emit,
  signal: AbortSignal,
): Promise<void> {
  await mkdir(given, { recursive: true });
  const base = await root();
  if (base === null) throw new Error(`the folder ${given} went away`);
  const tree = new Tree(base, prefix, emit);
  signal.addEventListener("abort", () => tree.close(), { once: true });
  try {
    await tree.addDir("", false);
  } catch (error) {
    tree.close();
    // Out of watches (inotify's per-user limit) or descriptors: the store polls instead.
    const code = (error as NodeJS.ErrnoException)?.code;
    if (code === "ENOSPC" || code === "EMFILE") {
      throw new UnsupportedError(`too many folders under ${given} to watch each one (${code}): polling instead`, {
        cause: error,
      });
    }
    throw error;
  }
}

class Tree {
  /** Watched folders (relative to the root) and the files each is known to hold. */
  readonly #dirs = new Map<string, { watcher: FSWatcher; files: Set<string> }>();
  /** Paths being checked; true when another event came meanwhile (check again). */
  readonly #checking = new Map<string, boolean>();
  #closed = false;

  constructor(
    readonly base: string,
    readonly prefix: string,
    readonly emit: Emit,
  ) {}

  /** Folders on the way to the prefix, and every folder under it. */
  #relevant(dir: string): boolean {
    const slashed = dir === "" ? "" : `${dir}/`;
    return this.prefix.startsWith(slashed) || slashed.startsWith(this.prefix);
  }

  #report(type: "put" | "delete", key: string): void {
    if (!this.#closed && key.startsWith(this.prefix)) this.emit({ type, key });
  }

  /** Watches a folder, then reads it: a file made meanwhile is seen by one or the other. `announce`: its files are new. */
  async addDir(dir: string, announce: boolean): Promise<void> {
    if (this.#closed || this.#dirs.has(dir) || !this.#relevant(dir)) return;
    const watcher = fsWatch(join(this.base, dir), (_type, name) => this.#onEvent(dir, name));
    const entry = { watcher, files: new Set<string>() };
    this.#dirs.set(dir, entry);
    watcher.on("error", () => this.#lost(dir));
    const dirents = await readdir(join(this.base, dir), { withFileTypes: true }).catch(() => []);
    const subdirs: Promise<void>[] = [];
    for (const dirent of dirents) {
      if (dirent.name.startsWith(RESERVED)) continue;
      const path = joinKey(dir, dirent.name);
      if (dirent.isDirectory()) subdirs.push(this.addDir(path, announce));
      else if (dirent.isFile() || (dirent.isSymbolicLink() && (await kindOf(join(this.base, path))) === "file")) {
        entry.files.add(dirent.name);
        if (announce) this.#report("put", path);
      }
    }
    await Promise.all(subdirs);
  }

  #onEvent(dir: string, name: string | Buffer | null): void {
    if (this.#closed) return;
    if (name === null) this.#lost(dir);
    else if (!name.toString().startsWith(RESERVED)) this.#check(dir, name.toString()).catch(() => this.#lost(dir));
  }

  /** Brings what is known of one path in line with the disk, once per burst of events. */
  async #check(dir: string, name: string): Promise<void> {
    const path = joinKey(dir, name);
    if (this.#checking.has(path)) {
      this.#checking.set(path, true);
      return;
    }
    this.#checking.set(path, false);
    try {
      do {
        this.#checking.set(path, false);
        await this.#settle(dir, name, path, await kindOf(join(this.base, path)));
      } while (this.#checking.get(path) && !this.#closed);
    } finally {
      this.#checking.delete(path);
    }
  }

  async #settle(dir: string, name: string, path: string, kind: Kind): Promise<void> {
    const files = this.#dirs.get(dir)?.files;
    if (kind === "file") {
      if (this.#dirs.has(path)) this.#dropDir(path);
      files?.add(name);
      this.#report("put", path);
    } else if (kind === "dir") {
      if (files?.delete(name)) this.#report("delete", path);
      await this.addDir(path, true).catch(() => this.#lost(path));
    } else {
      if (this.#dirs.has(path)) this.#dropDir(path);
      if (files?.delete(name)) this.#report("delete", path);
    }
  }

  /** A folder that has gone: every file it held is deleted. */
  #dropDir(dir: string): void {
    const slashed = `${dir}/`;
    for (const [path, entry] of this.#dirs) {
      if (path !== dir && !path.startsWith(slashed)) continue;
      entry.watcher.close();
      this.#dirs.delete(path);
      for (const name of entry.files) this.#report("delete", joinKey(path, name));
    }
  }

  /** A watcher failed or overflowed: events may be lost. Watch the folder afresh and say so. */
  #lost(dir: string): void {
    if (this.#closed) return;
    this.#dirs.get(dir)?.watcher.close();
    this.#dirs.delete(dir);
    this.emit({ type: "resync" });
    this.addDir(dir, false).catch(() => {});
  }

  close(): void {
    this.#closed = true;
    for (const { watcher } of this.#dirs.values()) watcher.close();
    this.#dirs.clear();
  }
}
