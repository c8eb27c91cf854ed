/**
 * `ifNotExists` for drivers that cannot do it atomically (`capabilities.ifNotExists` false):
 * check, then write. The check and the write of one key run one create at a time within a
 * store and its children (they share one state), so racers in one process get exactly one
 * winner. Other processes, and other stores over the same backend, can still race: the
 * capability keeps saying so. Part of the store's lazy half (lazy-ops.ts); drivers with an
 * atomic create never come here.
 */

import { alreadyExists } from "../already-exists.js";
import type { WriteOptions } from "../driver/contract.js";
import type { HotDriver } from "../driver/hot-path.js";
import type { Shared, StoreContext } from "./state.js";

/** Per store state: the last create queued for each key. */
const queues = new WeakMap<Shared, Map<string, Promise<unknown>>>();

/** Runs `step` after every create of the same key queued before it, in this state. */
function oneAtATime<R>(shared: Shared, k: string, step: () => Promise<R>): Promise<R> {
  let queue = queues.get(shared);
  if (!queue) {
    queue = new Map();
    queues.set(shared, queue);
  }
  const run = (queue.get(k) ?? Promise.resolve()).then(step);
  const settled = run.then(
    () => {},
    () => {},
  );
  queue.set(k, settled);
  // The queue forgets a key once its last create is done: it holds only keys being created.
  void settled.then(() => {
    if (queue.get(k) === settled) queue.delete(k);
  });
  return run;
}

/**
 * The emulated create: `AlreadyExistsError` when the key is there, else `write` (with
 * `ifNotExists` dropped, as the driver does not take it). The previous create of the key has
 * settled before the check.
 */
export function createNew(
  c: StoreContext<unknown>,
  d: HotDriver,
  key: string,
  k: string,
  opts: WriteOptions,
  write: (opts: WriteOptions) => Promise<void>,
): Promise<void> {
  const { ifNotExists: _, ...rest } = opts;
  return oneAtATime(c.shared, k, async () => {
    if (await d.has(k)) throw alreadyExists(key, { store: c.uri });
    await write(rest);
  });
}
