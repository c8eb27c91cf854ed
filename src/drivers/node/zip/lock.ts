/**
 * One writer per archive across processes: a lock file beside the archive
 * (`.anystore-<name>.lock`) holding the writer's pid, host and a random token, and touched every
 * few seconds while held. It is written to a file of its own first and then hard-linked into
 * place (which fails when a lock exists), so a lock never exists without its holder in it. A lock is stale when its process is
 * gone (same host) or it has not been touched for `STALE_MS`; a stale lock is taken over, a live
 * one waited for, up to the driver's `lockTimeout`.
 *
 * Taking over moves the stale file aside (rename is atomic) and checks that what moved is
 * still stale; if a new writer's lock was moved instead, it goes back.
 */
import { randomBytes } from "node:crypto";
import { link, mkdir, open, readFile, rename, stat, unlink, utimes } from "node:fs/promises";
import { hostname } from "node:os";
import { basename, dirname, join } from "node:path";
import { AnystoreError } from "../../../core/errors.js";
import { RESERVED } from "../../../core/keys.js";

/** How often a held lock is touched, and how long an untouched one counts as held. */
const REFRESH_MS = 5_000;
const STALE_MS = 60_000;
const MAX_PAUSE_MS = 100;

interface Holder {
  pid: number;
  host: string;
  token: string;
}

export const lockPath = (archive: string): string => join(dirname(archive), `${RESERVED}-${basename(archive)}.lock`);

const isCode = (error: unknown, code: string) => (error as NodeJS.ErrnoException)?.code === code;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return isCode(error, "EPERM");
  }
}

/** The lock's holder and age, or null when there is no lock (or it vanished while being read). */
async function inspect(path: string): Promise<{ holder: Holder | null; age: number } | null> {
  try {
    const [text, info] = await Promise.all([readFile(path, "utf8"), stat(path)]);
    let holder: Holder | null = null;
    try {
      holder = JSON.parse(text) as Holder;
    } catch {
      // being written right now, or written by something else: judged by age alone
    }
    return { holder, age: Date.now() - info.mtimeMs };
  } catch (error) {
    if (isCode(error, "ENOENT")) return null;
    throw error;
  }
}

const stale = ({ holder, age }: { holder: Holder | null; age: number }) =>
  age > STALE_MS || (holder !== null && holder.host === hostname() && !alive(holder.pid));

export class ArchiveLock {
  readonly path: string;
  /** The inode of our lock file while we hold it: it is ours as long as the lock path still names it. */
  #ino: number | null = null;
  #refresh: ReturnType<typeof setInterval> | undefined;

  constructor(
    readonly archive: string,
    readonly timeout: number,
  ) {
    this.path = lockPath(archive);
  }

  /** Waits for the lock (taking over a stale one); rejects after `timeout` ms with an `AnystoreError`. */
  async acquire(): Promise<void> {
    const deadline = Date.now() + this.timeout;
    for (let pause = 2; ; pause = Math.min(pause * 2, MAX_PAUSE_MS)) {
      if (await this.#create()) return;
      const found = await inspect(this.path);
      if (found === null) continue;
      if (stale(found)) {
        await this.#takeOver();
        continue;
      }
      if (Date.now() > deadline) {
        const who = found.holder ? `process ${found.holder.pid} on ${found.holder.host}` : "another process";
        throw new AnystoreError(
          `zip archive ${this.archive} is being written by ${who} (waited ${this.timeout} ms); if nothing writes it, remove ${this.path}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, pause * (0.5 + Math.random())));
    }
  }

  async release(): Promise<void> {
    clearInterval(this.#refresh);
    const ino = this.#ino;
    this.#ino = null;
    // Only our own lock: one taken over from us (we stalled past STALE_MS) belongs to someone else now.
    const now = ino === null ? null : await stat(this.path).catch(() => null);
    if (now?.ino === ino) await unlink(this.path).catch(() => {});
  }

  async #create(): Promise<boolean> {
    const holder: Holder = { pid: process.pid, host: hostname(), token: randomBytes(8).toString("hex") };
    const own = `${this.path}.${holder.token}`;
    let ino: number;
    try {
      const fh = await open(own, "wx");
      try {
        await fh.writeFile(JSON.stringify(holder));
        ino = (await fh.stat()).ino;
      } finally {
        await fh.close();
      }
    } catch (error) {
      if (!isCode(error, "ENOENT")) throw error;
      await mkdir(dirname(this.path), { recursive: true }); // the first write of a new archive
      return this.#create();
    }
    try {
      await link(own, this.path);
    } catch (error) {
      if (isCode(error, "EEXIST")) return false;
      if (!(isCode(error, "EPERM") || isCode(error, "ENOTSUP") || isCode(error, "EOPNOTSUPP"))) throw error;
      // No hard links here: an exclusive create, which a writer killed at once leaves empty (then judged by age).
      const fh = await open(this.path, "wx").catch((e: unknown) => (isCode(e, "EEXIST") ? null : Promise.reject(e)));
      if (!fh) return false;
      try {
        await fh.writeFile(JSON.stringify(holder));
        ino = (await fh.stat()).ino;
      } finally {
        await fh.close();
      }
    } finally {
      await unlink(own).catch(() => {});
    }
    this.#ino = ino;
    this.#refresh = setInterval(() => {
      const now = new Date();
      void utimes(this.path, now, now).catch(() => {});
    }, REFRESH_MS);
    this.#refresh.unref?.();
    return true;
  }

  /** Moves a stale lock out of the way; puts it back if what moved is fresh (a new writer's, or touched meanwhile). */
  async #takeOver(): Promise<void> {
    const aside = `${this.path}.${randomBytes(6).toString("hex")}`;
    try {
      await rename(this.path, aside);
    } catch (error) {
      if (isCode(error, "ENOENT")) return; // someone else took it over
      throw error;
    }
    const moved = await inspect(aside);
    if (moved && !stale(moved)) await link(aside, this.path).catch(() => {});
    await unlink(aside).catch(() => {});
  }
}
