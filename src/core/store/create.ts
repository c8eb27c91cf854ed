import type { Driver } from "../driver/contract.js";
import { InvalidArgumentError } from "../errors.js";
import { normalizePrefix } from "../keys.js";
import type { Runtime } from "../runtime-interface.js";
import type { CreateStoreOptions, Store, StoreOptions } from "../types.js";
import { loaderFor } from "../uri.js";
import { requireLazyOps } from "./lazy-loader.js";
import { sharedState } from "./state.js";
import { AnyStore } from "./store.js";

/** `createStore` for one runtime: parses the arguments, picks the driver, does no I/O. */
export function createStoreWith<T>(
  runtime: Runtime,
  uriOrOptions?: string | CreateStoreOptions<T>,
  maybeOptions?: StoreOptions<T>,
): Store<T> {
  const options: CreateStoreOptions<T> =
    typeof uriOrOptions === "string" ? { ...maybeOptions, uri: uriOrOptions } : { ...uriOrOptions, ...maybeOptions };
  if (uriOrOptions !== undefined && typeof uriOrOptions !== "string" && typeof uriOrOptions !== "object") {
    throw new InvalidArgumentError(`createStore takes a uri string or an options object, got ${typeof uriOrOptions}`);
  }
  const driver: Driver | undefined = options.driver;
  const uri = options.uri || (driver ? `${driver.name}://` : runtime.defaultUri());
  let makeDriver: () => Promise<Driver>;
  if (driver) {
    makeDriver = async () => driver;
  } else {
    const load = loaderFor(uri, runtime);
    makeDriver = async () => (await load())(uri, options as Record<string, unknown>);
  }
  const prefix = normalizePrefix(options.prefix, uri);
  const shared = sharedState(uri, runtime, options as StoreOptions, makeDriver, requireLazyOps);
  // The class returns at run time what `Store` types per call (see StoreMethods in store.ts).
  return new AnyStore<T>(shared, prefix) as unknown as Store<T>;
}
