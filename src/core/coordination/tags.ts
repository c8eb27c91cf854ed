/**
 * The two parts of Python anystore's `Tags` (after servicelayer's tags) that are more than the
 * store's own methods: `touch`, which records when a piece of work started but only once it
 * has succeeded, and deletion of everything under a prefix. `tags()` in index.ts binds the rest.
 */
import type { ListOptions, Store } from "../types.js";

/** Keys deleted per `deleteMany`. */
const BATCH = 500;

/** Runs `fn` with its start time; stores that time at `key` only when `fn` succeeds. */
export async function touchOnSuccess<R>(
  store: Store<unknown>,
  key: string,
  fn: (startedAt: Date) => R | Promise<R>,
): Promise<R> {
  const startedAt = new Date();
  const result = await fn(startedAt);
  // JSON, as store.touch writes a time (an ISO string), whatever the store's serialization.
  await store.put(key, startedAt, { serialization: "json" });
  return result;
}

/** Deletes every key under `prefix` in batches, while listing; resolves to how many. */
export async function deletePrefix(
  store: Store<unknown>,
  prefix: string,
  opts: Omit<ListOptions, "prefix"> = {},
): Promise<number> {
  let batch: string[] = [];
  let deleted = 0;
  const flush = async () => {
    await store.deleteMany(batch);
    deleted += batch.length;
    batch = [];
  };
  for await (const key of store.keys({ ...opts, prefix })) {
    batch.push(key);
    if (batch.length >= BATCH) await flush();
  }
  if (batch.length > 0) await flush();
  return deleted;
}
