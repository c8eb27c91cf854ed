/**
 * An async iterator standing in for one that is not there yet (a module or a database still
 * loading): calls wait for it, then go straight to it, with no extra promise step per item.
 */
export function deferredIterator<T>(ready: Promise<AsyncIterator<T>>): AsyncIterableIterator<T> {
  ready.catch(() => {}); // seen by the first next() (or dropped with the iterator)
  const iterator: AsyncIterableIterator<T> = {
    [Symbol.asyncIterator]: () => iterator,
    next: () =>
      ready.then((inner) => {
        iterator.next = () => inner.next();
        iterator.return = async (value?: unknown) => inner.return?.(value) ?? { done: true, value: undefined };
        return inner.next();
      }),
    // Ends the one that comes too (a watch holds what it listens with from the start).
    return: async (value?: unknown) => {
      await (await ready.catch(() => undefined))?.return?.(value);
      return { done: true, value: undefined };
    },
  };
  return iterator;
}
