/**
 * Removing a value only when it is still the file judged (expired, or just created and to be
 * undone). POSIX has no "unlink if this inode", so the file is moved aside, compared by inode,
 * and put back when a writer had replaced it meanwhile.
 */
import { createHash } from "node:crypto";
import type { Stats } from "node:fs";
import { join } from "node:path";
import * as io from "./io.js";
import { type Jail, TEMP_PREFIX } from "./jail.js";

/** Milliseconds after which a reap lock counts as left by a killed process (a reap takes microseconds). */
const STALE_LOCK_MS = 10_000;

function sameFile(a: Stats, b: Stats): boolean {
  return a.ino === b.ino && a.dev === b.dev;
}

/**
 * Removes the expired value `name` in the pinned folder `at`, unless it is no longer the file
 * judged. Readers that judged the same file take turns (a reap lock per key), so one of them
 * never removes the value another racer put there after the first removal. `dropSidecar` runs
 * first: a key linked right after the value goes must never meet the old, passed expiry.
 * False when another reader is at it or the value was replaced.
 */
export async function reap(
  jail: Jail,
  at: string,
  name: string,
  judged: Stats,
  dropSidecar: () => Promise<void>,
): Promise<boolean> {
  const lock = join(at, `${TEMP_PREFIX}reap-${createHash("sha1").update(name).digest("hex").slice(0, 20)}`);
  if (!(await takeLock(lock))) return false;
  try {
    const current = await io.lstat(join(at, name)).catch(() => null);
    if (current === null || !sameFile(current, judged)) return false;
    await dropSidecar();
    return await removeIfSame(jail, at, name, judged);
  } finally {
    await io.unlinkQuiet(lock).catch(() => {});
  }
}

/** Removes `name` when it is the file `judged`; a newer value is put back (unless an even newer one is there already). */
export async function removeIfSame(jail: Jail, at: string, name: string, judged: Stats): Promise<boolean> {
  const aside = join(at, jail.tempName());
  const target = join(at, name);
  const moved = await io.rename(target, aside).then(
    () => true,
    (error) => (io.isMissing(error) ? false : Promise.reject(error)),
  );
  if (!moved) return false;
  const stats = await io.lstat(aside);
  if (sameFile(stats, judged)) {
    await io.unlinkQuiet(aside);
    return true;
  }
  if (stats.isDirectory()) await io.rename(aside, target).catch(() => {});
  else
    await io.link(aside, target).then(
      () => io.unlinkQuiet(aside),
      () => io.unlinkQuiet(aside),
    );
  return false;
}

/** Creates a lock file exclusively; false when another holds it (one older than STALE_LOCK_MS is broken). */
async function takeLock(path: string): Promise<boolean> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await io.close(await io.createFile(path, 0o666));
      return true;
    } catch (error) {
      if (io.codeOf(error) !== "EEXIST") throw error;
    }
    const stats = await io.lstat(path).catch(() => null);
    if (stats && stats.mtimeMs > Date.now() - STALE_LOCK_MS) return false;
    await io.unlinkQuiet(path);
  }
  return false;
}
