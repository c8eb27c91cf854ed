/**
 * `anycache`: memoize an async function in any store (SPEC 7). Keys default to Python
 * anystore's `make_signature_key`, so both languages share one cache.
 */

import { isAnystoreError } from "../errors.js";
import type { SchemaLike, Serialization } from "../serialize.js";
import { makeSignatureKey } from "../signature.js";
import type { Store } from "../types.js";

export interface AnycacheOptions<A extends unknown[], R> {
  /** Where results live. */
  // biome-ignore lint/suspicious/noExplicitAny: a store of any value type (Store<T> uses T both ways, so Store<unknown> would refuse a Store<Note>)
  store: Store<any>;
  /**
   * The cache key for a call; `null` or `undefined` skips the cache for that call (fn runs, nothing is stored).
   * @default makeSignatureKey (Python anystore's make_signature_key)
   */
  key?: (...args: A) => string | null | undefined | Promise<string | null | undefined>;
  /** Seconds a result stays cached; 0 for never. @default the store's `defaultTtl` */
  ttl?: number;
  /** A zod schema for the cached value: validated when stored, parsed when read back. */
  schema?: SchemaLike<R>;
  /** How results are encoded. @default the store's serialization */
  serialization?: Serialization;
  /** false: never read the cache, always run fn and store the fresh result (a refresh). @default true */
  useCache?: boolean;
}

/** Read failures that mean "no usable entry": the entry is recomputed and overwritten. */
const STALE = new Set(["NOT_FOUND", "VALIDATION", "SERIALIZATION"]);

/**
 * Wraps `fn` so a call returns the stored result when there is one, else runs `fn` and stores
 * what it returns. Concurrent calls with one key share a single run of `fn` (single-flight,
 * within this process); a thrown error is never cached. Cached calls return the value as
 * the store decodes it: use `serialization: "json"` or a `schema` for exact round trips.
 * @example
 * const cache = createStore("redis://localhost/cache");
 * const fetchUser = anycache(async (id: number) => (await fetch(`/users/${id}`)).json(), { store: cache, ttl: 3600 });
 * await fetchUser(1); // runs fetch, stores the result under sha256("1")
 * await fetchUser(1); // read from redis
 */
export function anycache<A extends unknown[], R>(
  fn: (...args: A) => R | Promise<R>,
  options: AnycacheOptions<A, R>,
): (...args: A) => Promise<Awaited<R>> {
  const {
    store,
    key = makeSignatureKey as (...args: A) => string,
    ttl,
    schema,
    serialization,
    useCache = true,
  } = options;
  const codec = { ...(schema !== undefined && { schema }), ...(serialization !== undefined && { serialization }) };
  const inflight = new Map<string, Promise<Awaited<R>>>();

  const compute = async (k: string, args: A): Promise<Awaited<R>> => {
    if (useCache) {
      try {
        return (await store.get(k, { ...codec, throwOnMissing: true })) as Awaited<R>;
      } catch (error) {
        if (!isAnystoreError(error) || !STALE.has(error.code)) throw error;
      }
    }
    const result = await fn(...args);
    await store.put(k, result, { ...codec, ...(ttl !== undefined && { ttl }) });
    return result;
  };

  return async (...args: A): Promise<Awaited<R>> => {
    const k = await key(...args);
    if (k === null || k === undefined) return await fn(...args);
    const running = inflight.get(k);
    if (running) return running;
    const run = compute(k, args);
    inflight.set(k, run);
    try {
      return await run;
    } finally {
      // Only the call that started the run clears it: a later run under the same key is kept.
      if (inflight.get(k) === run) inflight.delete(k);
    }
  };
}
