import { completed } from "../driver/complete.js";
import { isReservedKey, joinKey, normalizePrefix } from "../keys.js";
import type { ListOptions } from "../types.js";
import type { StoreContext } from "./state.js";
import { fail, loadDriver } from "./state.js";

type Matcher = (key: string) => boolean;

/** Compiles a glob (SPEC 5) in linear time; the matcher loads only when a glob is used. */
async function compileGlob(glob: string): Promise<Matcher> {
  const { compileGlob: compile } = await import("../glob.js");
  return compile(glob);
}

/**
 * Lists store-relative keys: a path prefix, a plain-string exclude prefix and a glob relative
 * to the prefix (SPEC 5). Streams the driver's pages; never holds every key.
 *
 * A hand-made iterator rather than an async generator, which costs several promise steps per
 * key on top of the driver's. The driver loads on the first `next()`, as in a generator.
 */
export function listKeys(c: StoreContext<unknown>, opts: ListOptions): AsyncIterableIterator<string> {
  const { prefix: storePrefix, uri } = c;
  let inner: AsyncIterator<string> | undefined;
  let starting: Promise<void> | undefined;
  let accept: (full: string) => string | undefined = () => undefined;
  const mapError = (error: unknown) => fail(c, error);

  const start = async () => {
    const prefix = normalizePrefix(opts.prefix, uri);
    const base = joinKey(storePrefix, prefix);
    const listPrefix = base === "" ? "" : `${base}/`;
    const storeCut = storePrefix === "" ? 0 : storePrefix.length + 1;
    const globCut = prefix === "" ? 0 : prefix.length + 1;
    const exclude = opts.excludePrefix || undefined;
    const match = opts.glob !== undefined ? await compileGlob(opts.glob) : undefined;
    accept = (full) => {
      if (!full.startsWith(listPrefix) || full.length === listPrefix.length || isReservedKey(full)) return undefined;
      const key = full.slice(storeCut);
      if (exclude !== undefined && key.startsWith(exclude)) return undefined;
      if (match && !match(key.slice(globCut))) return undefined;
      return key;
    };
    inner = completed(c.shared, await loadDriver(c.shared))
      .list(listPrefix)
      [Symbol.asyncIterator]();
  };

  const step = (result: IteratorResult<string>): IteratorResult<string> | Promise<IteratorResult<string>> => {
    if (result.done) return { done: true, value: undefined };
    const key = accept(result.value);
    return key === undefined ? inner!.next().then(step) : { done: false, value: key };
  };

  const pull = (): Promise<IteratorResult<string>> => {
    if (inner === undefined) {
      starting ??= start();
      return starting.then(pull, mapError);
    }
    return inner.next().then(step).catch(mapError);
  };
  // Drivers' iterators need not take concurrent next() calls (paged ones would fetch a page
  // twice): a call made while another is pending waits for it, as with an async generator.
  let pending: Promise<IteratorResult<string>> | undefined;
  const iterator: AsyncIterableIterator<string> = {
    next() {
      const result = pending ? pending.then(pull, pull) : pull();
      pending = result;
      const settle = () => {
        if (pending === result) pending = undefined;
      };
      result.then(settle, settle);
      return result;
    },
    async return(value?: unknown) {
      await inner?.return?.(value);
      return { done: true, value: undefined };
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}

/** Groups keys into arrays of up to `size`, for batched reads. */
export async function* pagesOf(keys: AsyncIterable<string>, size: number): AsyncGenerator<string[]> {
  let page: string[] = [];
  for await (const key of keys) {
    page.push(key);
    if (page.length < size) continue;
    yield page;
    page = [];
  }
  if (page.length > 0) yield page;
}
