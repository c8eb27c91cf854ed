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
    return: async () => ({ done: true, value: undefined }),
  };
  return iterator;
}
