import type { Dirent } from "node:fs";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { InvalidKeyError } from "../../../core/errors.js";
import { RESERVED } from "../../../core/keys.js";
import { type Jail, TEMP_PREFIX } from "./jail.js";
import type { Pin } from "./pins.js";

/** Directories read at once; one at a time leaves the disk idle between round trips. */
const DIRS_IN_FLIGHT = 4;
/** Folders' pages read ahead of the consumer; the walk pauses when this many wait. */
const PAGES_AHEAD = 8;

/** The names of one folder, as keys relative to the walk's base. */
export interface WalkPage {
  /** Regular files: keys. */
  files: string[];
  /** Symlinks need a stat to tell what they point at. */
  symlinks: string[];
  /** The driver's temp files (filled only when asked for). */
  temps: string[];
}

/**
 * Walks `ROOT/base/start` a folder at a time: each folder is read in one call (`readdir`) and
 * handed out as one page, a few folders in flight, at most a few pages ahead of the consumer, so
 * memory holds a few folders' names however many files there are. Keys are relative to `base`.
 * Skips reserved (`.anystore*`) names, but gives temp files with `temps`. A folder renamed or
 * swapped for a symlink while the walk goes is skipped, never followed (see `Jail.pinListing`).
 */
export async function* walk(
  jail: Jail,
  base: string,
  start: string,
  opts: { temps?: boolean } = {},
): AsyncGenerator<WalkPage> {
  // The start may be a symlink within the root (followed once, here); below it, only real folders.
  const startDir = base === "" ? start : start === "" ? base : `${base}/${start}`;
  const first = await jail
    .pin(startDir, startDir)
    .catch((error) => (error instanceof InvalidKeyError ? null : Promise.reject(error)));
  if (first === null) return; // missing, or a symlink leading outside the root
  /** Folders to read: the key prefix they stand for, and their real path (or the start's pin). */
  const pendingDirs: Array<[string, string | Pin]> = [[start, first]];
  const ready: WalkPage[] = [];
  let active = 0;
  let failure: unknown;
  let wakeConsumer: (() => void) | undefined;
  let wakeProducers: Array<() => void> = [];
  let stopped = false;

  const notify = () => {
    wakeConsumer?.();
    wakeConsumer = undefined;
  };

  const readDir = async ([dir, where]: [string, string | Pin]) => {
    let dirents: Dirent[];
    let real = typeof where === "string" ? where : "";
    try {
      const pin = typeof where === "string" ? await jail.pinListing(where) : where;
      if (pin === null) return;
      try {
        dirents = await readdir(pin.at, { withFileTypes: true });
        // The start's real path, for its subfolders' pins: asked only when it has some.
        if (real === "" && dirents.some((d) => d.isDirectory())) real = await jail.realOf(pin);
      } finally {
        pin.release();
      }
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== "ENOENT" && code !== "ENOTDIR") failure = error;
      return;
    }
    const page: WalkPage = { files: [], symlinks: [], temps: [] };
    const at = dir === "" ? "" : `${dir}/`;
    for (const dirent of dirents) {
      const name = dirent.name;
      if (name.startsWith(RESERVED)) {
        if (opts.temps && name.startsWith(TEMP_PREFIX) && dirent.isFile()) page.temps.push(at + name);
      } else if (dirent.isFile()) page.files.push(at + name);
      else if (dirent.isDirectory()) pendingDirs.push([at + name, join(real, name)]);
      else if (dirent.isSymbolicLink()) page.symlinks.push(at + name);
    }
    while (ready.length >= PAGES_AHEAD && !stopped) await new Promise<void>((resolve) => wakeProducers.push(resolve));
    ready.push(page);
  };

  const pump = () => {
    while (!stopped && active < DIRS_IN_FLIGHT && pendingDirs.length > 0) {
      active++;
      void readDir(pendingDirs.pop()!).finally(() => {
        active--;
        pump();
        notify();
      });
    }
  };

  try {
    pump();
    for (;;) {
      if (failure) throw failure;
      if (ready.length > 0) {
        const page = ready.shift()!;
        const waiting = wakeProducers;
        wakeProducers = [];
        for (const wake of waiting) wake();
        yield page;
        continue;
      }
      if (active === 0 && pendingDirs.length === 0) return;
      await new Promise<void>((resolve) => (wakeConsumer = resolve));
    }
  } finally {
    stopped = true;
    for (const wake of wakeProducers) wake();
  }
}
