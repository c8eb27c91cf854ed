/**
 * Benchmark conventions and helpers. A suite (bench/suites/*.mjs) exports `title` and a default
 * `async function (report)` that calls `report.table(title, rows, meta?)`; each row compares one
 * workload across implementations: `{ workload, unit, results: { anystore: n, "raw x": n, unstorage: n, keyv: n } }`,
 * anystore first, the raw client of the same backend next (its name starts with "raw"), then the
 * peers (unstorage, keyv, idb-keyval). `meta.driver` names the driver when the title does not
 * start with it; `meta.notes` explains figures (shown under the table in BENCHMARKS.md).
 * Higher is better for rates (ops/s, MiB/s, ...); for MiB (memory) lower is better.
 *
 * The standard workloads (use these names, so every suite's rows line up in one table and chart):
 * - put/get of 1 KiB values, sequential and 32 in flight: `putGetRows`;
 * - batches of 1,000 keys of 1 KiB: `batchRows`;
 * - listing the 1,000 keys of one prefix among 100,000 (one folder), and all 100,000: `seedForListing` once
 *   per backend, then `listRow` and `listAllRow`;
 * - deletes of 1 KiB values, sequential: `deleteRow`;
 * - one 256 MiB value streamed in and out, throughput and extra RSS: `streamRows`;
 * - mirror of 10,000 keys of 1 KiB (from a directory, 16 in flight): `mirrorFixture`, `mirrorRow`.
 */
// No static Node imports: bench/browser/page.mjs bundles this file for the browser.
const node = async () => {
  const [fs, os, path] = await Promise.all([import("node:fs/promises"), import("node:os"), import("node:path")]);
  return { ...fs, ...os, ...path };
};

export const KiB = 1024;
export const MiB = 1024 * 1024;
export const value1k = (i) => `${"x".repeat(1000)}${String(i).padStart(24, "0")}`;

/** The standard workload names, in table order. */
export const W = {
  putSeq: "put 1 KiB, sequential",
  getSeq: "get 1 KiB, sequential",
  put32: "put 1 KiB, 32 in flight",
  get32: "get 1 KiB, 32 in flight",
  putMany: "putMany 1,000 x 1 KiB",
  getMany: "getMany 1,000 x 1 KiB",
  list: "list a prefix among 100,000 keys",
  listAll: "list all 100,000 keys",
  delete: "delete 1 KiB, sequential",
  streamIn: "stream 256 MiB in",
  streamOut: "stream 256 MiB out",
  rss: "extra RSS, 256 MiB streamed",
  mirror: "mirror 10,000 x 1 KiB",
};
export const WORKLOADS = Object.values(W);
/** The unit each standard workload is reported in. */
export const UNITS = {
  [W.putSeq]: "ops/s",
  [W.getSeq]: "ops/s",
  [W.put32]: "ops/s",
  [W.get32]: "ops/s",
  [W.putMany]: "keys/s",
  [W.getMany]: "keys/s",
  [W.list]: "lists/s",
  [W.listAll]: "lists/s",
  [W.delete]: "ops/s",
  [W.streamIn]: "MiB/s",
  [W.streamOut]: "MiB/s",
  [W.rss]: "MiB",
  [W.mirror]: "keys/s",
};

export const IN_FLIGHT = 32;
export const BATCH = 1000;
export const LIST_TOTAL = 100_000;
export const LIST_PREFIXES = 100;
/** The listed prefix: 1,000 of the 100,000 seeded keys (`p0/0` ... `p99/99999`, `p${i % 100}/${i}`). */
export const LIST_PREFIX = "p42";
export const LIST_EXPECTED = LIST_TOTAL / LIST_PREFIXES;
export const listKey = (i) => `p${i % LIST_PREFIXES}/${i}`;
export const BIG = 256 * MiB;
export const MIRROR_KEYS = 10_000;
export const MIRROR_IN_FLIGHT = 16;

// ---- timing ----

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

/** Calls `fn(item)` for every item with `concurrency` calls in flight. */
export async function pool(items, fn, concurrency = IN_FLIGHT) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

/** 32 in flight: `opsPerSec` with the standard concurrency. */
export const inFlight = (fn, opts) => opsPerSec(fn, { ...opts, concurrency: IN_FLIGHT });

/** Best of `rounds` runs of `opsPerSec` (the machine is shared; the best run is the least disturbed). */
export async function bestOf(rounds, fn, opts) {
  let best = 0;
  for (let i = 0; i < rounds; i++) best = Math.max(best, await opsPerSec(fn, opts));
  return best;
}

/**
 * Best figure per implementation over `rounds` rounds, the implementations taking turns within
 * each round (a noisy stretch of the shared machine hits them alike). `measure(impl, name)`
 * resolves to a figure (higher is better); implementations it resolves `undefined` for are left out.
 */
export async function takingTurns(impls, measure, rounds = 3) {
  const best = {};
  const failed = {};
  const entries = Object.entries(impls);
  for (let round = 0; round < rounds; round++) {
    for (const [name, impl] of entries) {
      if (name in failed) continue;
      globalThis.gc?.();
      const started = performance.now();
      try {
        const figure = await measure(impl, name);
        if (figure !== undefined) best[name] = Math.max(best[name] ?? 0, figure);
      } catch (error) {
        // One implementation failing (a peer's bug, a refused connection) must not lose the others' figures.
        failed[name] = String(error?.message ?? error).split("\n")[0];
        console.error(`  ${name} failed: ${failed[name]}`);
      }
      if (process.env.BENCH_VERBOSE) console.log(`    ${name}: ${((performance.now() - started) / 1000).toFixed(1)} s`);
    }
  }
  const results = Object.fromEntries(entries.filter(([name]) => name in best).map(([name]) => [name, best[name]]));
  return Object.defineProperty(results, "failed", { value: failed, enumerable: false });
}

/** A row of `takingTurns` results, saying which implementations failed and why. */
export function rowOf(workload, results, unit = UNITS[workload]) {
  const failures = Object.entries(results.failed ?? {}).map(([name, why]) => `${name} failed: ${why}.`);
  return { workload, unit, results: { ...results }, ...(failures.length > 0 && { note: failures.join(" ") }) };
}

// ---- the standard workloads ----

/**
 * The four put/get rows. `impls`: name -> { put(key, value), get(key), ops? } with 1 KiB string
 * values. Sequential runs do `ops` operations (the implementation's own `ops` if it has one),
 * 32-in-flight runs twice as many; gets read the keys the puts wrote (`k/0` ... `k/${ops - 1}`).
 */
export async function putGetRows(impls, { ops = 1000, rounds = 3 } = {}) {
  const rows = [];
  for (const [workload, concurrency, op, factor] of [
    [W.putSeq, 1, "put", 1],
    [W.getSeq, 1, "get", 1],
    [W.put32, IN_FLIGHT, "put", 2],
    [W.get32, IN_FLIGHT, "get", 2],
  ]) {
    const measure = (impl) => {
      if (!impl[op]) return undefined;
      const count = impl.ops ?? ops; // a much slower implementation may do fewer
      const fn = (i) => impl[op](`k/${i % count}`, value1k(i));
      return opsPerSec(fn, { ops: count * factor, concurrency, warmup: Math.min(100, Math.ceil(count / 5)) });
    };
    rows.push(rowOf(workload, await takingTurns(impls, measure, rounds)));
  }
  return rows;
}

/** The 1,000 entries of a batch: `b/0000` ... `b/0999`, 1 KiB each. */
export const batchEntries = () =>
  Array.from({ length: BATCH }, (_, i) => [`b/${String(i).padStart(4, "0")}`, value1k(i)]);

/**
 * putMany and getMany of 1,000 keys of 1 KiB, in keys/s. `impls`: name -> { putMany(entries),
 * getMany(keys) } (either may be missing); getMany reads the keys putMany wrote.
 */
export async function batchRows(impls, { rounds = 3, batches = 3 } = {}) {
  const entries = batchEntries();
  const keys = entries.map(([k]) => k);
  const rate = (fn) => opsPerSec(fn, { ops: batches, warmup: 1 }).then((perSec) => perSec * BATCH);
  return [
    rowOf(
      W.putMany,
      await takingTurns(impls, (impl) => (impl.putMany ? rate(() => impl.putMany(entries)) : undefined), rounds),
    ),
    rowOf(
      W.getMany,
      await takingTurns(
        impls,
        (impl) =>
          impl.getMany
            ? rate(async () => {
                const got = await impl.getMany(keys);
                const n = got?.size ?? got?.length;
                if (n !== undefined && n !== BATCH) throw new Error(`getMany returned ${n} values, expected ${BATCH}`);
              })
            : undefined,
        rounds,
      ),
    ),
  ];
}

/**
 * Writes the 100,000 listing keys (`listKey(i)`, small values) with `putMany(entries)` in
 * batches of `batch`, `concurrency` batches in flight. Seed once per backend where the
 * implementations can share the keys.
 */
export async function seedForListing(putMany, { batch = 1000, concurrency = 2, value = "v" } = {}) {
  const starts = Array.from({ length: Math.ceil(LIST_TOTAL / batch) }, (_, i) => i * batch);
  await pool(
    starts,
    (start) =>
      putMany(Array.from({ length: Math.min(batch, LIST_TOTAL - start) }, (_, j) => [listKey(start + j), value])),
    concurrency,
  );
}

/** Counts what an (async) iterable yields. */
export async function countKeys(iterable) {
  let n = 0;
  for await (const _ of iterable) n++;
  return n;
}

/**
 * Listing the 1,000 keys of `LIST_PREFIX` among 100,000. `impls`: name -> { list() } resolving
 * to the number of keys listed (or an array of them), which must be 1,000.
 */
export async function listRow(impls, { rounds = 3, ops = 3 } = {}) {
  const results = await takingTurns(
    impls,
    (impl, name) =>
      impl.list
        ? opsPerSec(
            async () => {
              const got = await impl.list();
              const n = typeof got === "number" ? got : got.length;
              if (n !== LIST_EXPECTED) throw new Error(`${name} listed ${n} keys, expected ${LIST_EXPECTED}`);
            },
            { ops, warmup: 1 },
          )
        : undefined,
    rounds,
  );
  return rowOf(W.list, results);
}

/**
 * Listing all 100,000 seeded keys. `impls`: name -> { listAll() } resolving to the number of keys
 * listed (or an array of them), which must be 100,000.
 */
export async function listAllRow(impls, { rounds = 3, ops = 1 } = {}) {
  const results = await takingTurns(
    impls,
    (impl, name) =>
      impl.listAll
        ? opsPerSec(
            async () => {
              const got = await impl.listAll();
              const n = typeof got === "number" ? got : got.length;
              if (n !== LIST_TOTAL) throw new Error(`${name} listed ${n} keys, expected ${LIST_TOTAL}`);
            },
            { ops, warmup: 1 },
          )
        : undefined,
    rounds,
  );
  return rowOf(W.listAll, results);
}

/**
 * Sequential deletes of `n` existing keys per round. `impls`: name -> { seed(i), delete(i) }:
 * `seed` puts key i back (untimed, before each round), `delete` removes it.
 */
export async function deleteRow(impls, { n = 1000, rounds = 3 } = {}) {
  const results = await takingTurns(
    impls,
    async (impl) => {
      if (!impl.delete) return undefined;
      await pool([...Array(n).keys()], (i) => impl.seed(i), 16);
      const started = performance.now();
      for (let i = 0; i < n; i++) await impl.delete(i);
      return n / ((performance.now() - started) / 1000);
    },
    rounds,
  );
  return rowOf(W.delete, results);
}

// ---- the 256 MiB value ----

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

/** Reads a stream (web or Node) to the end, counting bytes. */
export async function drain(stream) {
  let bytes = 0;
  for await (const chunk of stream) bytes += chunk.byteLength;
  return bytes;
}

/**
 * One 256 MiB value streamed in and out per implementation: MiB/s each way and the peak RSS
 * above the start over both (sampled every 5 ms). `impls`: name -> { write(stream), read() }
 * where read resolves to a stream or a byte count (must be 256 MiB), and an optional
 * `cleanup()` run after. An implementation that cannot stream may take the whole value
 * (say so in its name: "raw x (whole value)").
 */
export async function streamRows(impls) {
  const results = { in: {}, out: {}, rss: {} };
  const failed = {};
  for (const [name, impl] of Object.entries(impls)) {
    let inSeconds = 0;
    try {
      const total = await withPeakRss(async () => {
        const started = performance.now();
        await impl.write(sourceStream(BIG));
        inSeconds = (performance.now() - started) / 1000;
        const got = await impl.read();
        const bytes = typeof got === "number" ? got : await drain(got);
        if (bytes !== BIG) throw new Error(`${name} read back ${bytes} bytes, expected ${BIG}`);
      });
      results.in[name] = BIG / MiB / inSeconds;
      results.out[name] = BIG / MiB / (total.seconds - inSeconds);
      results.rss[name] = total.extraRssMiB;
    } catch (error) {
      failed[name] = String(error?.message ?? error).split("\n")[0];
      console.error(`  ${name} failed: ${failed[name]}`);
    }
    await impl.cleanup?.()?.catch?.(() => {});
  }
  const row = (workload, figures) =>
    rowOf(workload, Object.defineProperty(figures, "failed", { value: failed, enumerable: false }));
  return [row(W.streamIn, results.in), row(W.streamOut, results.out), row(W.rss, results.rss)];
}

// ---- mirror ----

/** A unique temporary directory (removed with `rm(dir, { recursive: true, force: true })`). */
export async function tempDir(name) {
  const { mkdtemp, join, tmpdir } = await node();
  return mkdtemp(join(tmpdir(), `anystore-bench-${name}-`));
}

/**
 * The mirror source: a directory of 10,000 files of 1 KiB (`d${i % 100}/k${i}.txt`) in a new
 * temp dir; `files` are their keys. `remove()` deletes it.
 */
export async function mirrorFixture() {
  const { join, mkdir, rm, writeFile } = await node();
  const root = await tempDir("mirror");
  const dir = join(root, "src");
  const files = Array.from({ length: MIRROR_KEYS }, (_, i) => `d${i % 100}/k${i}.txt`);
  for (let d = 0; d < 100; d++) await mkdir(join(dir, `d${d}`), { recursive: true });
  await pool([...files.keys()], (i) => writeFile(join(dir, files[i]), value1k(i)), 64);
  return { root, dir, files, remove: () => rm(root, { recursive: true, force: true }) };
}

/** Makes the parent directory of a file (for raw fs copies). */
export async function mkdirFor(file) {
  const { mkdir, dirname } = await node();
  await mkdir(dirname(file), { recursive: true });
}

/**
 * One timed copy of the 10,000 keys per implementation, in keys/s. `impls`: name -> async
 * function doing the whole copy (16 in flight) and resolving to the number of keys copied, or
 * to `{ copied, stopped: "why" }` when it was stopped early (the rate is then over the keys
 * copied, and the row says so).
 */
export async function mirrorRow(impls) {
  const results = {};
  const notes = [];
  for (const [name, copy] of Object.entries(impls)) {
    globalThis.gc?.();
    const started = performance.now();
    let outcome;
    try {
      outcome = await copy();
    } catch (error) {
      notes.push(`${name} failed: ${String(error?.message ?? error).split("\n")[0]}.`);
      continue;
    }
    const seconds = (performance.now() - started) / 1000;
    const copied = typeof outcome === "number" ? outcome : outcome.copied;
    if (typeof outcome === "number" && copied !== MIRROR_KEYS)
      throw new Error(`${name} copied ${copied} keys, expected ${MIRROR_KEYS}`);
    if (typeof outcome !== "number")
      notes.push(
        `${name} ${outcome.stopped}: ${copied.toLocaleString("en-US")} keys in ${seconds.toFixed(0)} s, the rate is over those.`,
      );
    results[name] = copied / seconds;
  }
  return { workload: W.mirror, unit: UNITS[W.mirror], results, ...(notes.length > 0 && { note: notes.join(" ") }) };
}

/**
 * anystore's `mirror` from `source` into `target` (16 in flight), stopped after `budgetSeconds`
 * (for targets too slow to take all 10,000 keys within the bench's time).
 */
export async function mirrorWithin(mirror, source, target, budgetSeconds = Infinity) {
  const controller = new AbortController();
  const timer = Number.isFinite(budgetSeconds)
    ? setTimeout(() => controller.abort(new Error("budget")), budgetSeconds * 1000)
    : undefined;
  let mirrored = 0;
  try {
    const result = await mirror(source, target, {
      concurrency: MIRROR_IN_FLIGHT,
      signal: controller.signal,
      onProgress: (p) => (mirrored = p.mirrored),
    });
    if (result.failed > 0) throw result.errors[0].error;
    return result.mirrored;
  } catch (error) {
    if (!controller.signal.aborted) throw error;
    return { copied: mirrored, stopped: `was stopped after ${budgetSeconds} s` };
  } finally {
    clearTimeout(timer);
  }
}

/** Logs how long a step took (to keep the whole run within its time). */
export async function timed(label, fn) {
  const started = performance.now();
  try {
    return await fn();
  } finally {
    console.log(`  (${label}: ${((performance.now() - started) / 1000).toFixed(1)} s)`);
  }
}
