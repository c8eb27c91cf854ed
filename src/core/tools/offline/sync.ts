/**
 * `sync(a, b)`: two-way reconciliation with a base per key (SPEC 12). This module is loaded on
 * first use (see index.ts); it works over the public Store API of any two stores.
 */

import { InvalidArgumentError, isAnystoreError } from "../../errors.js";
import type { ListOptions } from "../../types.js";
import { openBases } from "./base.js";
import type { AnyStore } from "./bytes.js";
import { Reconciler, type Tally } from "./reconcile.js";
import type { SyncAction, SyncOptions, SyncResult } from "./types.js";

const MAX_ERRORS = 100;

/** Throws InvalidArgumentError for options sync cannot run with, before anything is read. */
export function checkSyncOptions(options: SyncOptions): void {
  const { concurrency, conflict, debounce } = options;
  if (concurrency !== undefined && (!Number.isInteger(concurrency) || concurrency < 1))
    throw new InvalidArgumentError(`concurrency must be a whole number >= 1, got ${String(concurrency)}`);
  if (debounce !== undefined && !(Number.isFinite(debounce) && debounce >= 0))
    throw new InvalidArgumentError(`debounce must be a number of milliseconds >= 0, got ${String(debounce)}`);
  if (conflict !== undefined && typeof conflict !== "function" && !["a", "b", "keep-both"].includes(conflict))
    throw new InvalidArgumentError(
      `conflict must be "a", "b", "keep-both" or a function, got ${JSON.stringify(conflict)}`,
    );
}

export function listOptionsOf(options: SyncOptions): ListOptions {
  const { prefix, excludePrefix, glob } = options;
  return {
    ...(prefix !== undefined && { prefix }),
    ...(excludePrefix !== undefined && { excludePrefix }),
    ...(glob !== undefined && { glob }),
  };
}

async function collect(keys: AsyncIterable<string>, into: Set<string>, signal: AbortSignal | undefined): Promise<void> {
  for await (const key of keys) {
    signal?.throwIfAborted();
    into.add(key);
  }
}

/** Every key on either side that the options select, sorted (so runs are repeatable). */
export async function keysOfBoth(a: AnyStore, b: AnyStore, options: SyncOptions): Promise<string[]> {
  const list = listOptionsOf(options);
  const keys = new Set<string>();
  await Promise.all([collect(a.keys(list), keys, options.signal), collect(b.keys(list), keys, options.signal)]);
  return [...keys].sort();
}

export function emptyResult(): SyncResult {
  return { copiedToA: 0, copiedToB: 0, deletedInA: 0, deletedInB: 0, conflicts: [], failed: 0, errors: [], took: 0 };
}

/** A key deleted or replaced on a side between looking and copying fails with NOT_FOUND: look again, once. */
async function reconcileOrRetry(reconciler: Reconciler, key: string): Promise<SyncAction> {
  try {
    return await reconciler.reconcile(key);
  } catch (error) {
    if (!isAnystoreError(error, "NOT_FOUND")) throw error;
    return reconciler.reconcile(key);
  }
}

/**
 * Reconciles `keys` (or every selected key) once, adding to `result`. A key that fails is
 * counted and the others go on; a `ConnectionError` or an abort stops the run and rejects,
 * once the keys in flight have settled. Keys done so far keep their bases.
 */
export async function syncOnce(
  a: AnyStore,
  b: AnyStore,
  options: SyncOptions,
  result: SyncResult = emptyResult(),
  only?: string[],
): Promise<SyncResult> {
  const { signal, onProgress, concurrency = 8 } = options;
  signal?.throwIfAborted();
  const started = Date.now();
  const bases = await openBases(a, b);
  const keys = only ?? (await keysOfBoth(a, b, options));
  const tally: Tally = result;
  const reconciler = new Reconciler(a, b, bases, options, tally);
  let next = 0;
  let done = 0;
  let stop: unknown;

  const report = (key: string, action: SyncAction, error?: unknown) => {
    done++;
    onProgress?.({
      key,
      action,
      done,
      total: keys.length,
      copiedToA: result.copiedToA,
      copiedToB: result.copiedToB,
      deletedInA: result.deletedInA,
      deletedInB: result.deletedInB,
      conflicts: result.conflicts.length,
      failed: result.failed,
      ...(error !== undefined && { error }),
    });
  };

  const worker = async (): Promise<void> => {
    while (stop === undefined && next < keys.length) {
      const key = keys[next++]!;
      try {
        signal?.throwIfAborted();
        report(key, await reconcileOrRetry(reconciler, key));
      } catch (error) {
        // A side that is down fails every key alike: stop rather than wait out each one.
        if (signal?.aborted || isAnystoreError(error, "CONNECTION") || isAnystoreError(error, "INVALID_ARGUMENT")) {
          stop ??= signal?.aborted ? signal.reason : error;
          return;
        }
        result.failed++;
        if (result.errors.length < MAX_ERRORS) result.errors.push({ key, error });
        report(key, "failed", error);
      }
    }
  };

  await Promise.all(Array.from({ length: Math.min(concurrency, Math.max(keys.length, 1)) }, worker));
  result.took += Date.now() - started;
  if (stop !== undefined) throw stop;
  return result;
}
