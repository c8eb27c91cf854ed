import { promises as fsp } from "node:fs";
import { join } from "node:path";
import { isAnystoreError } from "../../../core/errors.js";
import { RESERVED } from "../../../core/keys.js";
import * as io from "./io.js";
import { type Jail, splitKey } from "./jail.js";

export const TTL_DIR = `${RESERVED}/ttl`;
/** Marks files that carry a ttl (the sticky bit, ignored for files by Linux and macOS): only they need the sidecar read. */
export const TTL_MARK = 0o1000;

/** How long a listing trusts its last look for the ttl folder (see `anyRecently`). */
const RECHECK_MS = 250;

const parse = (text: string) => {
  const expiresAt = Number(text);
  return text !== "" && Number.isFinite(expiresAt) ? expiresAt : null;
};

/**
 * Expiry times of keys with a ttl: one small file per key, `ROOT/.anystore/ttl/KEY` (or
 * `METADATA/ttl/KEY` with the option `metadataDir`), holding epoch milliseconds. Only values
 * carrying `TTL_MARK` consult theirs, so a sidecar left behind by a key rewritten without ttl is
 * harmless; `sweep()` removes such leftovers once past.
 */
export class Sidecars {
  #seen = false;
  #lookedAt = Number.NEGATIVE_INFINITY;
  #looked: Promise<boolean> | undefined;

  /** `jail` holds the sidecars under `dir`: the root's jail and `.anystore/ttl`, or the metadata folder's and `ttl`. */
  constructor(
    readonly jail: Jail,
    readonly dir: string = TTL_DIR,
  ) {}

  #dirOf(relDir: string): string {
    return relDir === "" ? this.dir : `${this.dir}/${relDir}`;
  }

  /**
   * Whether any key has had a ttl (the folder exists): looked up once, then known from this
   * driver's own ttl puts (a sidecar another process adds later is harmless, see above).
   */
  async any(): Promise<boolean> {
    if (this.#seen) return true;
    this.#looked ??= this.exists();
    this.#seen = await this.#looked;
    return this.#seen;
  }

  /**
   * For listings, which must hide another process's expired keys too: whether the folder
   * exists, looked up again once RECHECK_MS have passed since the last look. A ttl another
   * process sets is then noticed before it can pass, for ttls of at least RECHECK_MS (as in
   * opfs/ttl.ts); reads need none of this (they go by the value's mark).
   */
  async anyRecently(): Promise<boolean> {
    if (this.#seen) return true;
    if (Date.now() - this.#lookedAt < RECHECK_MS) return false;
    const found = await this.exists();
    this.#lookedAt = Date.now();
    if (found) this.#seen = true;
    return found;
  }

  async exists(): Promise<boolean> {
    return (await this.jail.lstat(this.dir, this.dir).catch(() => null))?.isDirectory() ?? false;
  }

  /** A key's expiry (epoch ms), or null when it has none. */
  async read(key: string): Promise<number | null> {
    const fd = await this.jail.openRead(`${this.dir}/${key}`, key).catch(() => null);
    if (fd === null) return null;
    const bytes = await io.readRange(fd, 0, 32).catch(() => null);
    return bytes && parse(new TextDecoder().decode(bytes));
  }

  /** Records a key's expiry: a temp file renamed into place, so readers see the old time or the new one. */
  async write(key: string, expiresAt: number): Promise<void> {
    this.#seen = true;
    try {
      await this.#write(key, expiresAt);
    } catch (error) {
      // Leftovers of keys since deleted or rewritten without ttl can block the path: a sidecar
      // file where a folder must go (key `a`, now `a/b`), or a folder where the file goes.
      const code = io.codeOf(error);
      if (!isAnystoreError(error, "CONFLICT") && code !== "EISDIR" && code !== "ENOTEMPTY") throw error;
      await this.#clearWay(key);
      await this.#write(key, expiresAt);
    }
  }

  async #write(key: string, expiresAt: number): Promise<void> {
    const [relDir, name] = splitKey(key);
    const bytes = new TextEncoder().encode(String(expiresAt));
    const {
      pin,
      temp,
      value: fd,
    } = await this.jail.createIn(this.#dirOf(relDir), key, (path) => io.writeNew(path, bytes, 0o666));
    try {
      await io.close(fd);
      await io.rename(join(pin.at, temp), join(pin.at, name));
    } catch (error) {
      await io.unlinkQuiet(join(pin.at, temp)).catch(() => {});
      throw error;
    } finally {
      pin.release();
    }
  }

  /** Removes stale sidecar files on the key's folder path and a stale sidecar folder at the key's own path. */
  async #clearWay(key: string): Promise<void> {
    const parts = key.split("/");
    for (let depth = 1; depth <= parts.length; depth++) {
      const [relDir, name] = splitKey(`${this.dir}/${parts.slice(0, depth).join("/")}`);
      const last = depth === parts.length;
      await this.jail.inPin(relDir, key, async (at) => {
        const stats = await io.lstat(join(at, name)).catch(() => null);
        if (stats && !last && !stats.isDirectory()) await io.unlinkQuiet(join(at, name));
        if (stats && last && stats.isDirectory()) await fsp.rm(join(at, name), { recursive: true, force: true });
        return null;
      });
    }
  }

  /** Removes a key's sidecar (and its folders once empty). */
  async drop(key: string): Promise<void> {
    const [relDir, name] = splitKey(key);
    const removed = await this.jail.inPin(this.#dirOf(relDir), key, (at) => io.unlinkQuiet(join(at, name)));
    if (removed) await this.jail.prune(this.#dirOf(relDir), this.dir);
  }

  /**
   * Removes a key's sidecar unless it now holds a future time: a writer with a new ttl may have
   * replaced it since the key was found expired. It is moved aside first and put back when
   * still needed, so a concurrent write is never lost.
   */
  async dropIfExpired(key: string): Promise<void> {
    const [relDir, name] = splitKey(key);
    const gone = await this.jail.inPin(this.#dirOf(relDir), key, async (at) => {
      const aside = join(at, this.jail.tempName());
      const moved = await io.rename(join(at, name), aside).then(
        () => true,
        (error) => (io.isMissing(error) ? false : Promise.reject(error)),
      );
      if (!moved) return null;
      const expiresAt = parse(await fsp.readFile(aside, "utf8").catch(() => ""));
      const live = expiresAt !== null && expiresAt > Date.now();
      if (live)
        await io
          .link(aside, join(at, name))
          .catch((error) => (io.codeOf(error) === "EEXIST" ? undefined : Promise.reject(error)));
      await io.unlinkQuiet(aside);
      return !live;
    });
    if (gone) await this.jail.prune(this.#dirOf(relDir), this.dir);
  }
}
