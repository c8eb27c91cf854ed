/**
 * Listing for the indexeddb driver: one contiguous key range of the records store, read as pages
 * of keys (never values) through `fetchPage`, which hides expired keys.
 */

import { rangeOf } from "./open.js";

/** A listing page: full keys in order, and the expired-but-unswept keys to hide from it. */
export interface Page {
  keys: string[];
  hidden: Set<string> | undefined;
}

export type FetchPage = (range: IDBKeyRange | undefined, count: number) => Promise<Page>;

/** Keys in a listing's first page; each next page doubles, up to LAST_PAGE (few transactions for long listings). */
const FIRST_PAGE = 1000;
const LAST_PAGE = 16_000;

/**
 * Keys under `prefix` in order, as pages: pages of keys (never values) from one key range, each
 * page twice the last (up to LAST_PAGE) and fetched while the previous one is consumed.
 */
export function pagedKeys(fetchPage: FetchPage, base: string, prefix: string): AsyncIterableIterator<string[]> {
  const upper = rangeOf(base + prefix);
  let size = FIRST_PAGE;
  // One key more than the page: its presence says another page follows, so the last page costs no empty read.
  let next: Promise<Page> | undefined = fetchPage(upper, size + 1);
  next.catch(() => {}); // seen by the first advance (or dropped with the iterator)
  const advance = async (): Promise<string[]> => {
    let { keys, hidden } = await next!;
    next = undefined;
    if (keys.length > size) {
      keys = keys.slice(0, size);
      const last = keys[size - 1]!;
      size = Math.min(size * 2, LAST_PAGE);
      next = fetchPage(
        upper ? IDBKeyRange.bound(last, upper.upper, true, true) : IDBKeyRange.lowerBound(last, true),
        size + 1,
      );
      next.catch(() => {});
    }
    const shown = hidden ? keys.filter((k) => !hidden.has(k)) : keys;
    return base ? shown.map((k) => k.slice(base.length)) : shown;
  };
  const iterator: AsyncIterableIterator<string[]> = {
    [Symbol.asyncIterator]: () => iterator,
    next: (): Promise<IteratorResult<string[]>> =>
      next ? advance().then((value) => ({ value, done: false })) : Promise.resolve({ value: undefined, done: true }),
  };
  return iterator;
}
