/**
 * `sync(a, b, { live: true })`: one full run, then a run over the keys that changed, each time
 * either side's `watch` (SPEC 11) reports changes and then `debounce` ms pass without more.
 * Ends when the signal aborts, resolving to the totals of every run.
 *
 * A run's own copies come back as events of the other side; the run they start finds those keys
 * unchanged and writes nothing, so the echo stops there. A `resync` event, a watch that ends
 * (a backend gone) or a failed run brings a full run; failed runs are retried with backoff.
 */

import { sleep } from "../../coordination/waiting.js";
import { InvalidArgumentError } from "../../errors.js";
import type { WatchEvent, WatchIterator } from "../../types.js";
import type { AnyStore } from "./bytes.js";
import { emptyResult, syncOnce } from "./sync.js";
import type { SyncOptions, SyncResult } from "./types.js";

const MAX_BACKOFF_MS = 30_000;
const MAX_ERRORS = 100;

/** Resolves after `ms`, or at once when the signal aborts. */
const pause = (ms: number, signal: AbortSignal): Promise<void> => sleep(ms, signal).catch(() => {});

export async function syncLive(a: AnyStore, b: AnyStore, options: SyncOptions): Promise<SyncResult> {
  const { signal, prefix, glob, excludePrefix, debounce = 200 } = options;
  if (!signal) throw new InvalidArgumentError("a live sync runs until its signal aborts: pass options.signal");
  const result = emptyResult();
  const pending = new Set<string>();
  let full = true;
  let due = true;
  let wake: (() => void) | undefined;
  /** Ends the pause after a failed run early: a `resync` says a side is back (a reconnect). */
  let cutPause: (() => void) | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const settleThenRun = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      due = true;
      wake?.();
    }, debounce);
  };
  const onEvent = (event: WatchEvent) => {
    if (event.type === "resync") {
      full = true;
      cutPause?.();
    } else if (excludePrefix === undefined || !event.key.startsWith(excludePrefix)) pending.add(event.key);
    else return;
    settleThenRun();
  };
  const watchOf = (store: AnyStore): WatchIterator =>
    store.watch({ ...(prefix !== undefined && { prefix }), ...(glob !== undefined && { glob }), signal });
  /** Follows one side until the signal aborts; a watch that ends early is restarted after a pause. */
  const follow = async (store: AnyStore, events: WatchIterator): Promise<void> => {
    for (let failures = 0; ; failures++) {
      try {
        for await (const event of events) onEvent(event);
      } catch {
        // Ended by an error (a backend gone): start again, and list everything once it is back.
      }
      if (signal.aborted) return;
      onEvent({ type: "resync" });
      await pause(Math.min(MAX_BACKOFF_MS, 500 * 2 ** failures), signal);
      if (signal.aborted) return;
      events = watchOf(store);
    }
  };

  const first = [watchOf(a), watchOf(b)] as const;
  await Promise.all(first.map((events) => events.ready));
  const followers = [follow(a, first[0]), follow(b, first[1])];
  const onAbort = () => {
    clearTimeout(timer);
    wake?.();
  };
  signal.addEventListener("abort", onAbort, { once: true });

  for (let failures = 0; !signal.aborted; ) {
    if (!due) {
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
      wake = undefined;
      continue;
    }
    due = false;
    const keys = full ? undefined : [...pending].sort();
    full = false;
    pending.clear();
    if (keys?.length === 0) continue;
    try {
      await syncOnce(a, b, options, result, keys);
      failures = 0;
    } catch (error) {
      if (signal.aborted) break;
      if (result.errors.length < MAX_ERRORS) result.errors.push({ key: "", error });
      // Try the same keys again (all of them after a failed full run) once the pause is over.
      if (keys === undefined) full = true;
      else for (const key of keys) pending.add(key);
      const backoff = pause(Math.min(MAX_BACKOFF_MS, 500 * 2 ** failures++), signal);
      await Promise.race([backoff, new Promise<void>((resolve) => (cutPause = resolve))]);
      cutPause = undefined;
      due = true;
    }
  }
  onAbort();
  await Promise.allSettled(followers);
  return result;
}
