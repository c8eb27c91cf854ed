/**
 * memory and fs: anystore vs unstorage (createStorage() with its memory and fs drivers), keyv
 * (its default Map, memory only) and raw node:fs/promises, in one process and one run.
 * Keys and 1 KiB values are made before timing, so only the stores are measured. Each
 * workload runs its implementations in turn, round after round, keeping each one's best
 * round: the machine is shared, and interleaving spreads its noise evenly.
 */
import { mkdir, open, readFile, readdir, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createStorage } from "unstorage";
import unstorageMemory from "unstorage/drivers/memory";
import unstorageFs from "unstorage/drivers/fs";
import Keyv from "keyv";
import { createStore } from "../../dist/index.node.js";
import { drain, MiB, opsPerSec, sourceStream, withPeakRss } from "../lib.mjs";

export const title = "memory and fs";
// Outside the tree: other suites clean bench/.data while this one runs.
const ROOT = join(tmpdir(), `anystore-bench-core-${process.pid}`);
/** Rounds per workload: memory rounds are short, so more of them. */
const ROUNDS = { memory: 9, fs: 5 };
const BATCH = 1000;
const LISTED = 100_000;

const keysOf = (n, prefix = "k") => Array.from({ length: n }, (_, i) => `${prefix}/${i}`);
const text1k = (i) => `${"x".repeat(1000)}${String(i).padStart(24, "0")}`;
const bytes1k = (i) => new Uint8Array(1024).fill(i & 255);

/** Best ops/s of each implementation over interleaved rounds. */
async function measure(impls, op, opts, rounds) {
  const best = {};
  for (let round = 0; round < rounds; round++) {
    for (const [name, impl] of Object.entries(impls)) {
      if (!impl[op]) continue;
      best[name] = Math.max(best[name] ?? 0, await opsPerSec((i) => impl[op](i), opts));
    }
  }
  return best;
}

/** The put/get/putMany/getMany rows; `impls[name].put(i)` writes key i of `n`, `putMany(b)` writes batch b. */
async function putGetRows(impls, n, rounds) {
  const rows = [];
  for (const [workload, op, concurrency] of [
    ["put 1 KiB, sequential", "put", 1],
    ["get 1 KiB, sequential", "get", 1],
    ["put 1 KiB, 32 in flight", "put", 32],
    ["get 1 KiB, 32 in flight", "get", 32],
  ]) {
    rows.push({ workload, unit: "ops/s", results: await measure(impls, op, { ops: n, concurrency, warmup: Math.min(n, 500) }, rounds) });
  }
  const batches = { ops: Math.max(n / BATCH, 5), concurrency: 1, warmup: 1 };
  for (const [workload, op] of [
    [`putMany 1,000 x 1 KiB`, "putMany"],
    [`getMany 1,000 x 1 KiB`, "getMany"],
  ]) {
    const perBatch = await measure(impls, op, batches, rounds);
    rows.push({ workload, unit: "keys/s", results: Object.fromEntries(Object.entries(perBatch).map(([k, v]) => [k, v * BATCH])) });
  }
  return rows;
}

async function listRow(impls, rounds) {
  const results = await measure(impls, "list", { ops: 3, concurrency: 1, warmup: 1 }, rounds);
  return { workload: "list a prefix among 100,000 keys", unit: "lists/s", results };
}

async function countKeys(iterable) {
  let n = 0;
  for await (const _ of iterable) n++;
  return n;
}

/** Puts LISTED keys `p0/0 .. p9/99999` through `put`, 100 at a time; the listing reads the prefix p3 (10,000 keys). */
async function seed(put) {
  for (let i = 0; i < LISTED; i += 100) {
    await Promise.all(Array.from({ length: 100 }, (_, j) => put(`p${(i + j) % 10}/${i + j}`)));
  }
}

/** Batch b of `keys`, as [key, value] pairs. */
const batchOf = (keys, values, b) => keys.slice(b * BATCH, (b + 1) * BATCH).map((k, j) => [k, values[b * BATCH + j]]);

async function memoryTables(report) {
  const n = 20_000;
  const keys = keysOf(n);
  const texts = Array.from({ length: n }, (_, i) => text1k(i));
  const blocks = Array.from({ length: n }, (_, i) => bytes1k(i));
  const at = (i) => i % n;

  const strings = createStore("memory://");
  const uStrings = createStorage({ driver: unstorageMemory() });
  const kv = new Keyv();
  const stringImpls = {
    anystore: {
      put: (i) => strings.put(keys[at(i)], texts[at(i)]),
      get: (i) => strings.get(keys[at(i)]),
      putMany: (b) => strings.putMany(batchOf(keys, texts, b % (n / BATCH))),
      getMany: (b) => strings.getMany(keys.slice((b % (n / BATCH)) * BATCH, (b % (n / BATCH) + 1) * BATCH)),
      list: () => countKeys(strings.keys({ prefix: "p3" })),
    },
    unstorage: {
      put: (i) => uStrings.setItem(keys[at(i)], texts[at(i)]),
      get: (i) => uStrings.getItem(keys[at(i)]),
      putMany: (b) => uStrings.setItems(batchOf(keys, texts, b % (n / BATCH)).map(([key, value]) => ({ key, value }))),
      getMany: (b) => uStrings.getItems(keys.slice((b % (n / BATCH)) * BATCH, (b % (n / BATCH) + 1) * BATCH)),
      list: async () => (await uStrings.getKeys("p3")).length,
    },
    keyv: {
      put: (i) => kv.set(keys[at(i)], texts[at(i)]),
      get: (i) => kv.get(keys[at(i)]),
      putMany: (b) => kv.setMany(batchOf(keys, texts, b % (n / BATCH)).map(([key, value]) => ({ key, value }))),
      getMany: (b) => kv.getMany(keys.slice((b % (n / BATCH)) * BATCH, (b % (n / BATCH) + 1) * BATCH)),
      // keyv cannot list keys of its Map store.
    },
  };
  const stringRows = await putGetRows(stringImpls, n, ROUNDS.memory);
  await seed((k) => strings.put(k, "v"));
  await seed((k) => uStrings.setItem(k, "v"));
  stringRows.push(await listRow(stringImpls, ROUNDS.memory));
  report.table("memory, 1 KiB strings (auto serialization)", stringRows);

  // Bytes, in raw mode (auto would decode bytes that are valid UTF-8 to text). anystore copies in and out (callers may reuse or mutate theirs); unstorage's raw API keeps
  // the caller's array. keyv's default serializer does not give a Uint8Array back, so it sits this one out.
  const bytes = createStore("memory://", { serialization: "raw" });
  const uBytes = createStorage({ driver: unstorageMemory() });
  const bytesImpls = {
    anystore: {
      put: (i) => bytes.put(keys[at(i)], blocks[at(i)]),
      get: (i) => bytes.get(keys[at(i)]),
      putMany: (b) => bytes.putMany(batchOf(keys, blocks, b % (n / BATCH))),
      getMany: (b) => bytes.getMany(keys.slice((b % (n / BATCH)) * BATCH, (b % (n / BATCH) + 1) * BATCH)),
    },
    unstorage: {
      put: (i) => uBytes.setItemRaw(keys[at(i)], blocks[at(i)]),
      get: (i) => uBytes.getItemRaw(keys[at(i)]),
      putMany: (b) => Promise.all(batchOf(keys, blocks, b % (n / BATCH)).map(([key, value]) => uBytes.setItemRaw(key, value))),
      getMany: (b) => Promise.all(keys.slice((b % (n / BATCH)) * BATCH, (b % (n / BATCH) + 1) * BATCH).map((key) => uBytes.getItemRaw(key))),
    },
  };
  report.table("memory, 1 KiB Uint8Arrays", await putGetRows(bytesImpls, n, ROUNDS.memory));
}

async function fsTable(report) {
  const n = 2000;
  const keys = keysOf(n);
  const texts = Array.from({ length: n }, (_, i) => text1k(i));
  const at = (i) => i % n;
  const dirs = { anystore: join(ROOT, "anystore"), raw: join(ROOT, "raw"), atomic: join(ROOT, "atomic"), unstorage: join(ROOT, "unstorage") };
  for (const dir of Object.values(dirs)) await mkdir(join(dir, "k"), { recursive: true });
  const store = createStore(dirs.anystore);
  const uFs = createStorage({ driver: unstorageFs({ base: dirs.unstorage }) });
  const rawPath = keys.map((k) => join(dirs.raw, k));
  const atomicPath = keys.map((k) => join(dirs.atomic, k));
  let tmp = 0;
  const atomicPut = async (i) => {
    const temp = join(dirs.atomic, `k/.tmp-${tmp++}`);
    await writeFile(temp, texts[at(i)]);
    await rename(temp, atomicPath[at(i)]);
  };
  const slice = (b) => keys.slice((b % (n / BATCH)) * BATCH, (b % (n / BATCH) + 1) * BATCH);
  const indexes = (b) => Array.from({ length: BATCH }, (_, j) => (b % (n / BATCH)) * BATCH + j);
  const impls = {
    anystore: {
      put: (i) => store.put(keys[at(i)], texts[at(i)]),
      get: (i) => store.get(keys[at(i)]),
      putMany: (b) => store.putMany(batchOf(keys, texts, b % (n / BATCH))),
      getMany: (b) => store.getMany(slice(b)),
    },
    "raw fs/promises": {
      put: (i) => writeFile(rawPath[at(i)], texts[at(i)]),
      get: (i) => readFile(rawPath[at(i)], "utf8"),
      putMany: (b) => Promise.all(indexes(b).map((i) => writeFile(rawPath[i], texts[i]))),
      getMany: (b) => Promise.all(indexes(b).map((i) => readFile(rawPath[i], "utf8"))),
    },
    "raw fs/promises, temp + rename": {
      put: atomicPut,
      get: (i) => readFile(atomicPath[at(i)], "utf8"),
      putMany: (b) => Promise.all(indexes(b).map(atomicPut)),
      getMany: (b) => Promise.all(indexes(b).map((i) => readFile(atomicPath[i], "utf8"))),
    },
    unstorage: {
      put: (i) => uFs.setItem(keys[at(i)], texts[at(i)]),
      get: (i) => uFs.getItem(keys[at(i)]),
      putMany: (b) => uFs.setItems(batchOf(keys, texts, b % (n / BATCH)).map(([key, value]) => ({ key, value }))),
      getMany: (b) => uFs.getItems(slice(b)),
    },
  };
  const rows = await putGetRows(impls, n, ROUNDS.fs);
  rows.push(await fsListRow());
  rows.push(...(await bigValue(store, dirs.raw)));
  report.table("fs", rows);
}

/** One directory of 100,000 small files (the layout is the same for all three), listed by each. */
async function fsListRow() {
  const dir = join(ROOT, "listed");
  for (let p = 0; p < 10; p++) await mkdir(join(dir, `p${p}`), { recursive: true });
  await seed((k) => writeFile(join(dir, k), "v"));
  const store = createStore(dir);
  const uFs = createStorage({ driver: unstorageFs({ base: dir }) });
  const impls = {
    anystore: { list: () => countKeys(store.keys({ prefix: "p3" })) },
    "raw fs/promises": { list: async () => (await readdir(join(dir, "p3"), { recursive: true })).length },
    unstorage: { list: async () => (await uFs.getKeys("p3")).length },
  };
  return listRow(impls, ROUNDS.fs);
}

/**
 * One 256 MiB value streamed in and out: throughput each way (best of two alternating rounds,
 * as the disk's writeback of one round slows the next) and peak RSS above the start (worst round).
 */
async function bigValue(store, rawDir) {
  const size = 256 * MiB;
  const rawPath = join(rawDir, "big.bin");
  const impls = {
    anystore: {
      in: () => store.put("big.bin", sourceStream(size)),
      out: async () => drain(await store.open("big.bin")),
    },
    "raw fs/promises": {
      in: () => writeFile(rawPath, sourceStream(size)),
      out: async () => {
        const file = await open(rawPath);
        try {
          await drain(file.createReadStream({ autoClose: false }));
        } finally {
          await file.close();
        }
      },
    },
  };
  const best = { in: {}, out: {}, rss: {} };
  for (let round = 0; round < 2; round++) {
    for (const [name, impl] of Object.entries(impls)) {
      const times = {};
      const { extraRssMiB } = await withPeakRss(async () => {
        times.in = await timed(impl.in);
        times.out = await timed(impl.out);
      });
      best.in[name] = Math.max(best.in[name] ?? 0, size / 1e6 / times.in);
      best.out[name] = Math.max(best.out[name] ?? 0, size / 1e6 / times.out);
      best.rss[name] = Math.max(best.rss[name] ?? 0, extraRssMiB);
    }
  }
  await rm(rawPath, { force: true });
  await store.delete("big.bin");
  return [
    { workload: "stream 256 MiB in", unit: "MB/s", results: best.in },
    { workload: "stream 256 MiB out", unit: "MB/s", results: best.out },
    { workload: "extra RSS, 256 MiB streamed", unit: "MiB", results: best.rss },
  ];
}

async function timed(fn) {
  const started = performance.now();
  await fn();
  return (performance.now() - started) / 1000;
}

export default async function run(report) {
  await rm(ROOT, { recursive: true, force: true });
  await mkdir(ROOT, { recursive: true });
  try {
    if (process.env.CORE_ONLY !== "fs") await memoryTables(report);
    if (process.env.CORE_ONLY !== "memory") await fsTable(report);
  } finally {
    await rm(ROOT, { recursive: true, force: true });
  }
}
