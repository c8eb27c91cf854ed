/**
 * How the store's lazy half reaches the driver without breaking call order (see state.ts):
 * at once when it is loaded, else right after the one promise every call waits for.
 */

import type { CompleteDriver } from "../driver/complete.js";
import { completed } from "../driver/complete.js";
import type { HotDriver } from "../driver/hot-path.js";
import type { StoreContext } from "./state.js";
import { loadDriver, readyDriver } from "./state.js";

/**
 * Runs `use` on the driver: at once, without an await, when it is loaded; else right after the
 * one promise every call waits for. Either way calls issued together reach the driver in the
 * order they were made (see state.ts). Errors of `use` are its own to map: a failed load
 * already names the store.
 */
export async function withDriver<R>(c: StoreContext<unknown>, use: (d: HotDriver) => R | Promise<R>): Promise<R> {
  return use(readyDriver(c.shared) ?? (await loadDriver(c.shared)));
}

/** `withDriver`, with every method of the driver present (driver/complete.ts). */
export function withComplete<R>(c: StoreContext<unknown>, use: (d: CompleteDriver) => R | Promise<R>): Promise<R> {
  return withDriver(c, (d) => use(completed(c.shared, d)));
}
