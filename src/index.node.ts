import { createStoreWith } from "./core/store/create.js";
import type { CreateStoreOptions, Store, StoreOptions } from "./core/types.js";
import { nodeRuntime } from "./runtime/node/runtime.js";

export * from "./index.common.js";
export { smartOpen, smartRead, smartStream, smartWrite } from "./runtime/node/smart.js";
export type { RunningServer, ServeOptions } from "./server/serve.js";
export { serve } from "./server/serve.js";

/**
 * Creates a store from a uri (or options). Synchronous, no I/O: the driver connects on first use.
 * Without a uri, Node uses `ANYSTORE_URI`, else the directory `.anystore`.
 * @example
 * const store = createStore("./data");
 * await store.put("reports/2026.json", { total: 3 });
 */
export function createStore<T = unknown>(uri?: string, options?: StoreOptions<T>): Store<T>;
export function createStore<T = unknown>(options: CreateStoreOptions<T>): Store<T>;
export function createStore<T = unknown>(
  uriOrOptions?: string | CreateStoreOptions<T>,
  options?: StoreOptions<T>,
): Store<T> {
  return createStoreWith<T>(nodeRuntime, uriOrOptions, options);
}
