import { createStoreWith } from "./core/store/create.js";
import type { CreateStoreOptions, Serialization, Store, StoreFor, StoreOptions } from "./core/types.js";
import { browserRuntime } from "./runtime/browser/runtime.js";

export * from "./index.common.js";
export { smartOpen, smartRead, smartStream, smartWrite } from "./runtime/browser/smart.js";

/**
 * Creates a store from a uri (or options). Synchronous, no I/O: the driver connects on first use.
 * Without a uri, a browser uses `idb://anystore`.
 * @example
 * const store = createStore("./data");
 * await store.put("reports/2026.json", { total: 3 });
 */
export function createStore<
  T = unknown,
  const S extends Serialization = Serialization,
  const M extends boolean = boolean,
>(uri?: string, options?: StoreOptions<T> & { serialization?: S; throwOnMissing?: M }): StoreFor<T, S, M>;
export function createStore<
  T = unknown,
  const S extends Serialization = Serialization,
  const M extends boolean = boolean,
>(options: CreateStoreOptions<T> & { serialization?: S; throwOnMissing?: M }): StoreFor<T, S, M>;
export function createStore<T = unknown>(
  uriOrOptions?: string | CreateStoreOptions<T>,
  options?: StoreOptions<T>,
): Store<T> | Store<T, null> {
  return createStoreWith<T>(browserRuntime, uriOrOptions, options);
}
