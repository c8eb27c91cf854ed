/** The options and results of `cached` and `sync` (SPEC 12). */

import type { Info, ListOptions } from "../../types.js";

export interface CachedOptions {
  /** Seconds a local copy answers without asking `remote`. @default undefined (forever) */
  ttl?: number;
  /** Answer from a stale local copy when `remote` throws `ConnectionError`. @default true */
  staleIfError?: boolean;
}

/** Which version survives a conflict: `a`'s, `b`'s, or both (`b`'s at the key, `a`'s at a conflict key). */
export type SyncResolution = "a" | "b" | "keep-both";

/** A key changed on both sides since the last sync (or new on both, with different bytes). */
export interface SyncConflict {
  key: string;
  /** What `a` held. */
  a: Info;
  /** What `b` held. */
  b: Info;
  /** How it was resolved (set once decided). */
  resolution?: SyncResolution;
  /** With `keep-both`: the key where `a`'s version is kept on both sides. */
  keptAs?: string;
}

/** What happened to one key. */
export type SyncAction = "copiedToA" | "copiedToB" | "deletedInA" | "deletedInB" | "conflict" | "unchanged" | "failed";

export interface SyncProgress {
  /** The key just handled. */
  key: string;
  action: SyncAction;
  /** Keys handled so far, of `total`. */
  done: number;
  /** Keys found on either side in this round. */
  total: number;
  copiedToA: number;
  copiedToB: number;
  deletedInA: number;
  deletedInB: number;
  conflicts: number;
  failed: number;
  /** The error, for a failed key. */
  error?: unknown;
}

export interface SyncOptions extends ListOptions {
  /**
   * Who wins when both sides changed a key: `"keep-both"` (b's version at the key, a's kept at
   * `key (conflict <ISO time>)` before its extension, on both sides), `"a"`, `"b"`, or a function
   * deciding per conflict.
   * @default "keep-both"
   */
  conflict?: SyncResolution | ((conflict: SyncConflict) => SyncResolution | Promise<SyncResolution>);
  /** Keys reconciled at once. @default 8 */
  concurrency?: number;
  /** Keep syncing on `watch` events of both sides until `signal` aborts. @default false */
  live?: boolean;
  /** Milliseconds a live sync waits after a change for more before it runs. @default 200 */
  debounce?: number;
  /** Aborting stops the run (copies in flight keep the old value) and rejects; it ends a live sync. */
  signal?: AbortSignal;
  /** Called after each key. */
  onProgress?: (progress: SyncProgress) => void;
}

export interface SyncResult {
  copiedToA: number;
  copiedToB: number;
  deletedInA: number;
  deletedInB: number;
  conflicts: SyncConflict[];
  /** Keys that failed (another run retries them); a `ConnectionError` rejects the run instead. */
  failed: number;
  /** The first failures (at most 100). */
  errors: Array<{ key: string; error: unknown }>;
  /** Milliseconds. */
  took: number;
}
