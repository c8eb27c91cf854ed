/** Measuring helpers shared by the bench page and its OPFS worker. */

/** Runs `fn(i)` for `ops` values of i from `offset`, `concurrency` at a time. */
export async function runOps(fn, ops, concurrency = 1, offset = 0) {
  let next = 0;
  const worker = async () => {
    while (next < ops) await fn(offset + next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, ops) }, worker));
}

/**
 * Best figure per implementation over `rounds` rounds, the implementations taking turns within
 * each round: the machine is shared, and turns spread a noisy stretch across all of them. The
 * order rotates every round and each turn starts after a short pause, so no implementation
 * always follows the same one (a peer's 1,000 transactions can still be finishing in the
 * browser's IndexedDB backend when its promise resolves).
 * `impls` maps a name to `async (round) => figure` (higher is better); falsy entries are skipped.
 */
export async function interleaved(impls, rounds) {
  const entries = Object.entries(impls).filter(([, measure]) => measure);
  const best = Object.fromEntries(entries.map(([name]) => [name, 0]));
  for (let round = 0; round < rounds; round++) {
    for (let turn = 0; turn < entries.length; turn++) {
      const [name, measure] = entries[(round + turn) % entries.length];
      await pause(PAUSE_MS);
      best[name] = Math.max(best[name], await measure(round));
    }
  }
  return best;
}

const PAUSE_MS = 30;
const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A measure of `ops` calls of `fn(i)` (after a short warmup), `concurrency` in flight, in ops/s. */
export const opsRate = (fn, ops, concurrency = 1) => {
  let offset = 0;
  return async () => {
    await runOps(fn, Math.min(20, ops), concurrency, offset);
    offset += 20;
    const started = performance.now();
    await runOps(fn, ops, concurrency, offset);
    offset += ops;
    return ops / ((performance.now() - started) / 1000);
  };
};

/** A measure of one call of `fn(round)` that does `count` operations, in operations per second. */
export const batchRate = (fn, count) => async (round) => {
  const started = performance.now();
  await fn(round);
  return count / ((performance.now() - started) / 1000);
};

export const value1k = (i) => `${"x".repeat(1000)}${String(i).padStart(24, "0")}`;

/** A request's result (or a transaction's completion) as a promise. */
export const result = (request) =>
  new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
export const done = (tx) =>
  new Promise((resolve, reject) => {
    tx.oncomplete = resolve;
    tx.onerror = tx.onabort = () => reject(tx.error);
  });
