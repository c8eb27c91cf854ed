/**
 * Open folder descriptors (Linux), shared by every fs driver in the process and keyed by the
 * folder's real path, so pinning a folder again costs one readlink (confirming the descriptor's
 * folder is still exactly there: not deleted, renamed or swapped) instead of an open, a
 * readlink and a close. At most 64, each closed after a few seconds unused.
 */
import { readlinkSync } from "node:fs";
import * as io from "./io.js";

export const PROC_FD = "/proc/self/fd";

/** A folder that later renames or symlinks cannot move: `at` names it (on Linux `/proc/self/fd/N`); `release` lets it go. */
export interface Pin {
  at: string;
  release(): void;
}

interface Entry {
  fd: number;
  path: string;
  users: number;
  lastUsed: number;
  /** No longer handed out; closed once its last user lets go. */
  dropped: boolean;
  closed: boolean;
}

const MAX_OPEN = 64;
const IDLE_MS = 5000;
/** In least recently used order (a reuse moves an entry to the end). */
const entries = new Map<string, Entry>();
let sweeper: ReturnType<typeof setTimeout> | undefined;

/** A descriptor's close, safe to call twice (a second close could hit a reused number). */
export function closeOnce(fd: number): () => void {
  let open = true;
  return () => {
    if (open) io.closeSoon(fd);
    open = false;
  };
}

function readlinkOrNull(path: string): string | null {
  try {
    return readlinkSync(path);
  } catch {
    return null;
  }
}

/** The cached folder at `path`, when there is one and it is still exactly there. */
export async function reuse(path: string): Promise<Pin | null> {
  const entry = entries.get(path);
  if (entry === undefined) return null;
  entry.users++;
  const at = `${PROC_FD}/${entry.fd}`;
  // Synchronous: /proc/self/fd is the kernel's own table (no disk, no network), answered in
  // microseconds, where a thread-pool round trip would cost as much as the operation it guards.
  if (readlinkOrNull(at) === path) {
    entry.lastUsed = Date.now();
    if (!entry.dropped) {
      entries.delete(path);
      entries.set(path, entry);
    }
    return { at, release: releaser(entry) };
  }
  entry.users--;
  drop(entry);
  return null;
}

/** Caches `fd`, a folder just opened and checked to be at `path`. */
export function keep(path: string, fd: number): Pin {
  const at = `${PROC_FD}/${fd}`;
  if (entries.has(path)) return { at, release: closeOnce(fd) }; // a concurrent pin cached it first
  if (entries.size >= MAX_OPEN) drop(entries.values().next().value!);
  const entry: Entry = { fd, path, users: 1, lastUsed: Date.now(), dropped: false, closed: false };
  entries.set(path, entry);
  if (sweeper === undefined) sweeper = setTimeout(dropIdle, IDLE_MS).unref();
  return { at, release: releaser(entry) };
}

function releaser(entry: Entry): () => void {
  let held = true;
  return () => {
    if (held) entry.users--;
    held = false;
    closeIfDone(entry);
  };
}

function drop(entry: Entry): void {
  if (entries.get(entry.path) === entry) entries.delete(entry.path);
  entry.dropped = true;
  closeIfDone(entry);
}

function closeIfDone(entry: Entry): void {
  if (!entry.dropped || entry.users > 0 || entry.closed) return;
  entry.closed = true;
  io.closeSoon(entry.fd);
}

function dropIdle(): void {
  sweeper = undefined;
  const cutoff = Date.now() - IDLE_MS;
  for (const entry of [...entries.values()]) if (entry.lastUsed < cutoff) drop(entry);
  if (entries.size > 0) sweeper = setTimeout(dropIdle, IDLE_MS).unref();
}
