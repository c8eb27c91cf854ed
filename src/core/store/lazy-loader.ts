/**
 * Loads the store's lazy half (lazy-ops.ts) once, on first need, and keeps it. store.ts runs
 * its less used operations through it; the shared state gets `requireLazyOps` handed in (by
 * create.ts), so neither state.ts nor lazy-ops.ts imports this module and no import cycle forms.
 */

export type LazyOps = typeof import("./lazy-ops.js");

/** The lazy half once loaded: calls then reach it without an await. */
export let lazyOps: LazyOps | undefined;
let loading: Promise<LazyOps> | undefined;

/** lazy-ops.ts, loaded once; rejects when it cannot be (and the next call tries again). */
export function requireLazyOps(): Promise<LazyOps> {
  loading ??= import("./lazy-ops.js").then(
    (m) => {
      lazyOps = m;
      return m;
    },
    (error) => {
      loading = undefined;
      throw error;
    },
  );
  return loading;
}
