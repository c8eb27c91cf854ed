/**
 * Benchmark helpers. A suite (bench/suites/*.mjs) exports `title` and a default
 * `async function (report)` that calls `report.table(title, rows)`; each row compares one
 * workload across implementations: `{ workload, unit, results: { anystore: n, "raw x": n, ... } }`.
 * Higher is better for ops/s and MB/s; for MiB (memory) lower is better.
 */

/** Runs `fn(i)` for i in [0, ops) with `concurrency` in flight; resolves to operations per second. */
export async function opsPerSec(fn, { ops, concurrency = 1, warmup = Math.min(200, ops) } = {}) {
  await runOps(fn, warmup, concurrency, 0);
  const started = performance.now();
  await runOps(fn, ops, concurrency, warmup);
  return ops / ((performance.now() - started) / 1000);
}

async function runOps(fn, ops, concurrency, offset) {
  let next = 0;
  const worker = async () => {
    while (next < ops) await fn(offset + next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, ops) }, worker));
}

/** Best of `rounds` runs of `opsPerSec` (the machine is shared; the best run is the least disturbed). */
export async function bestOf(rounds, fn, opts) {
  let best = 0;
  for (let i = 0; i < rounds; i++) best = Math.max(best, await opsPerSec(fn, opts));
  return best;
}

/** Runs `fn` while sampling RSS; resolves to seconds taken and peak RSS above the starting RSS, in MiB. */
export async function withPeakRss(fn) {
  globalThis.gc?.();
  const base = process.memoryUsage.rss();
  let peak = base;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 5);
  const started = performance.now();
  try {
    await fn();
  } finally {
    clearInterval(timer);
  }
  peak = Math.max(peak, process.memoryUsage.rss());
  return { seconds: (performance.now() - started) / 1000, extraRssMiB: (peak - base) / 2 ** 20 };
}

/** A source stream of `size` bytes in chunks of 1 MiB, generated on the fly (never whole in memory). */
export function sourceStream(size, chunk = 1 << 20) {
  let sent = 0;
  const block = new Uint8Array(chunk).map((_, i) => i & 255);
  return new ReadableStream({
    pull(controller) {
      if (sent >= size) return controller.close();
      const n = Math.min(chunk, size - sent);
      controller.enqueue(n === chunk ? block.slice() : block.slice(0, n));
      sent += n;
    },
  });
}

/** Reads a stream to the end, counting bytes. */
export async function drain(stream) {
  let bytes = 0;
  for await (const chunk of stream) bytes += chunk.byteLength;
  return bytes;
}

export const KiB = 1024;
export const MiB = 1024 * 1024;
export const value1k = (i) => `${"x".repeat(1000)}${String(i).padStart(24, "0")}`;
