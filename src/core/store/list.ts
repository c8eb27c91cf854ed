import { completed } from "../driver/complete.js";
import type { KeyPage } from "../driver/contract.js";
import { joinKey, normalizeKey, normalizePrefix } from "../keys.js";
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
 * True for a key as a backend lists it when the store can read it back under that very name:
 * valid, normalized and not reserved. Names another program wrote (`back\slash`, `a//b`) are
 * not: a listing drops them rather than yield a key that `get` refuses. Here rather than in
 * keys.ts, which every bundle carries.
 */
function isListableKey(key: string): boolean {
  try {
    return normalizeKey(key) === key;
  } catch {
    return false;
  }
}

/** Keeps the keys of a driver's page that a listing yields, made store-relative, in place. */
type PageFilter = (page: KeyPage) => KeyPage;

/**
 * The filter for one listing: the driver's prefix, readable names only (no reserved segment,
 * nothing `get` would refuse), the store's prefix cut off, then the exclude prefix and the glob
 * (relative to the listed prefix). One pass over the page, writing kept keys over the page's
 * own slots: the driver handed the array over.
 */
function pageFilter(listPrefix: string, storeCut: number, exclude: string | undefined, match?: Matcher, globCut = 0) {
  return (page: KeyPage): KeyPage => {
    let kept = 0;
    for (let i = 0; i < page.length; i++) {
      const full = page[i]!;
      if (listPrefix !== "" && !full.startsWith(listPrefix)) continue;
      if (!isListableKey(full)) continue;
      const key = storeCut === 0 ? full : full.slice(storeCut);
      if (exclude !== undefined && key.startsWith(exclude)) continue;
      if (match !== undefined && !match(globCut === 0 ? key : key.slice(globCut))) continue;
      page[kept++] = key;
    }
    page.length = kept;
    return page;
  };
}

interface Listing {
  pages: AsyncIterator<KeyPage | string>;
  filter: PageFilter;
}

/** Starts a listing: the driver loads (and the glob compiles) on the first `next()`, as in a generator. */
async function startListing(c: StoreContext<unknown>, opts: ListOptions): Promise<Listing> {
  const prefix = normalizePrefix(opts.prefix, c.uri);
  const base = joinKey(c.prefix, prefix);
  const listPrefix = base === "" ? "" : `${base}/`;
  const storeCut = c.prefix === "" ? 0 : c.prefix.length + 1;
  const match = opts.glob !== undefined ? await compileGlob(opts.glob) : undefined;
  const filter = pageFilter(
    listPrefix,
    storeCut,
    opts.excludePrefix || undefined,
    match,
    prefix === "" ? 0 : prefix.length + 1,
  );
  const pages = completed(c.shared, await loadDriver(c.shared))
    .list(listPrefix)
    [Symbol.asyncIterator]();
  return { pages, filter };
}

const DONE: IteratorResult<string> = Object.freeze({ done: true, value: undefined });
const NO_KEYS: KeyPage = [];

/**
 * Lists store-relative keys: a path prefix, a plain-string exclude prefix and a glob relative
 * to the prefix (SPEC 5). Streams the driver's pages, one at a time; never holds every key.
 *
 * A hand-made iterator: a key of a page already fetched is handed out at once, with one resolved
 * promise and no other step, where an async generator takes several per key. The driver is
 * asked for its next page only when this one is used up.
 */
export function listKeys(c: StoreContext<unknown>, opts: ListOptions): AsyncIterableIterator<string> {
  let listing: Listing | undefined;
  let page = NO_KEYS;
  let at = 0;
  let finished = false;

  /** The next non-empty page's first key, or done. */
  const refill = async (): Promise<IteratorResult<string>> => {
    try {
      listing ??= await startListing(c, opts);
      for (;;) {
        const result = await listing.pages.next();
        if (result.done || finished) {
          finished = true;
          return DONE;
        }
        const item = result.value;
        const kept = listing.filter(typeof item === "string" ? [item] : item);
        if (kept.length === 0) continue;
        page = kept;
        at = 1;
        return { done: false, value: kept[0]! };
      }
    } catch (error) {
      finished = true;
      fail(c, error);
    }
  };

  // Drivers' iterators need not take concurrent next() calls (paged ones would fetch a page
  // twice): a call made while a page is being fetched waits for it, as with an async generator.
  let pending: Promise<IteratorResult<string>> | undefined;
  const take = (): Promise<IteratorResult<string>> => iterator.next();
  const iterator: AsyncIterableIterator<string> = {
    next() {
      if (pending !== undefined) return pending.then(take, take);
      if (at < page.length) return Promise.resolve({ done: false, value: page[at++]! });
      if (finished) return Promise.resolve(DONE);
      const result = refill();
      pending = result;
      const settle = () => {
        if (pending === result) pending = undefined;
      };
      result.then(settle, settle);
      return result;
    },
    async return() {
      finished = true;
      page = NO_KEYS;
      await listing?.pages.return?.();
      return DONE;
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
