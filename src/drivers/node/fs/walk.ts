import type { Dir } from "node:fs";
import { opendir } from "node:fs/promises";
import { join } from "node:path";
import { RESERVED } from "../../../core/keys.js";
import { type Jail, TEMP_PREFIX } from "./jail.js";

/** Directories read at once; one at a time leaves the disk idle between round trips. */
const DIRS_IN_FLIGHT = 4;
/** Keys buffered ahead of the consumer; the walk pauses when it is full. */
const BUFFER = 512;

export interface WalkEntry {
  key: string;
  /** Symlinks need a stat to tell what they point at. */
  symlink: boolean;
  /** One of the driver's temp files (yielded only when asked for). */
  temp?: boolean;
}

/**
 * Walks `ROOT/base/start` lazily: a few directories in flight, each read as a stream (`opendir`),
 * with a bounded buffer between the walk and the consumer, so memory stays small however
 * many files there are. Keys are relative to `base`. Skips reserved (`.anystore*`) names, but
 * yields temp files with `temps`. A folder renamed or swapped for a symlink while the walk
 * goes is skipped, never followed (see `Jail.pinListing`).
 */
export async function* walk(
  jail: Jail,
  base: string,
  start: string,
  opts: { temps?: boolean } = {},
): AsyncGenerator<WalkEntry> {
  // The start may be a symlink within the root (followed once, here); below it, only real folders.
  const startReal = await jail.realDir(base === "" ? start : start === "" ? base : `${base}/${start}`);
  if (startReal === null) return;
  /** Folders to read: the key prefix they stand for and their real path. */
  const pendingDirs: Array<[string, string]> = [[start, startReal]];
  const ready: WalkEntry[] = [];
  let active = 0;
  let failure: unknown;
  let wakeConsumer: (() => void) | undefined;
  let wakeProducers: Array<() => void> = [];
  let stopped = false;

  const notify = () => {
    wakeConsumer?.();
    wakeConsumer = undefined;
  };
  const push = async (entry: WalkEntry) => {
    while (ready.length >= BUFFER && !stopped) await new Promise<void>((resolve) => wakeProducers.push(resolve));
    ready.push(entry);
    notify();
  };

  const readDir = async ([dir, real]: [string, string]) => {
    let handle: Dir;
    try {
      const pin = await jail.pinListing(real);
      if (pin === null) return;
      try {
        handle = await opendir(pin.at, { bufferSize: 128 });
      } finally {
        pin.release(); // the handle holds its own descriptor
      }
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== "ENOENT" && code !== "ENOTDIR") failure = error;
      return;
    }
    try {
      for await (const dirent of handle) {
        if (stopped) break;
        const key = dir === "" ? dirent.name : `${dir}/${dirent.name}`;
        if (dirent.name.startsWith(RESERVED)) {
          if (opts.temps && dirent.name.startsWith(TEMP_PREFIX) && dirent.isFile())
            await push({ key, symlink: false, temp: true });
          continue;
        }
        if (dirent.isDirectory()) pendingDirs.push([key, join(real, dirent.name)]);
        else if (dirent.isFile()) await push({ key, symlink: false });
        else if (dirent.isSymbolicLink()) await push({ key, symlink: true });
      }
    } catch (error) {
      failure = error;
    }
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
        const batch = ready.splice(0, ready.length);
        const waiting = wakeProducers;
        wakeProducers = [];
        for (const wake of waiting) wake();
        yield* batch;
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
