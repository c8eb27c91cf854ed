/** memory and fs: anystore vs a Map / raw node:fs/promises, and vs unstorage's drivers. */
import { mkdir, readFile, rename, rm, writeFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { createStorage } from "unstorage";
import unstorageMemory from "unstorage/drivers/memory";
import unstorageFs from "unstorage/drivers/fs";
import { createStore } from "../../dist/index.node.js";
import { bestOf, drain, MiB, sourceStream, value1k, withPeakRss } from "../lib.mjs";

export const title = "memory and fs";
const ROOT = join(process.cwd(), "bench/.data");
const N = 5000;

async function putGet(impls, ops) {
  const rows = [];
  for (const [workload, concurrency, op] of [
    ["put 1 KiB, sequential", 1, "put"],
    ["get 1 KiB, sequential", 1, "get"],
    ["put 1 KiB, 32 in flight", 32, "put"],
    ["get 1 KiB, 32 in flight", 32, "get"],
  ]) {
    const results = {};
    for (const [name, impl] of Object.entries(impls)) {
      results[name] = await bestOf(3, (i) => impl[op](`k/${i % ops}`, value1k(i)), { ops, concurrency });
    }
    rows.push({ workload, unit: "ops/s", results });
  }
  return rows;
}

async function listing(impls) {
  const results = {};
  for (const [name, impl] of Object.entries(impls)) {
    results[name] = await bestOf(3, () => impl.list(), { ops: 5, concurrency: 1, warmup: 1 });
  }
  return { workload: "list a prefix of 1,000 among 10,000 keys", unit: "lists/s", results };
}

async function seed(impls) {
  for (const impl of Object.values(impls)) {
    for (let i = 0; i < 10_000; i += 100) {
      await Promise.all(Array.from({ length: 100 }, (_, j) => impl.put(`p${(i + j) % 10}/${i + j}`, "v")));
    }
  }
}

export default async function run(report) {
  await rm(ROOT, { recursive: true, force: true });
  await mkdir(ROOT, { recursive: true });

  // memory
  const map = new Map();
  const mem = createStore("memory://");
  const uMem = createStorage({ driver: unstorageMemory() });
  const memImpls = {
    anystore: { put: (k, v) => mem.put(k, v), get: (k) => mem.get(k), list: () => countKeys(mem.keys({ prefix: "p3" })) },
    Map: { put: async (k, v) => void map.set(k, v), get: async (k) => map.get(k), list: async () => [...map.keys()].filter((k) => k.startsWith("p3/")).length },
    unstorage: { put: (k, v) => uMem.setItem(k, v), get: (k) => uMem.getItem(k), list: () => uMem.getKeys("p3") },
  };
  const memRows = await putGet(memImpls, N);
  // Bytes first: binary values skip serialization (unstorage's raw API is the like-for-like peer).
  const raw = createStore("memory://", { serialization: "raw" });
  const block = new Uint8Array(1024).fill(7);
  const bytesImpls = {
    anystore: { put: (k) => raw.put(k, block), get: (k) => raw.get(k) },
    Map: { put: async (k) => void map.set(k, block.slice()), get: async (k) => map.get(k) },
    unstorage: { put: (k) => uMem.setItemRaw(k, block), get: (k) => uMem.getItemRaw(k) },
  };
  for (const row of await putGet(bytesImpls, N)) memRows.push({ ...row, workload: row.workload.replace("1 KiB", "1 KiB bytes") });
  await seed(memImpls);
  memRows.push(await listing(memImpls));
  report.table("memory", memRows);

  // fs
  const dirs = { anystore: join(ROOT, "anystore"), raw: join(ROOT, "raw"), rawAtomic: join(ROOT, "raw-atomic"), unstorage: join(ROOT, "unstorage") };
  for (const dir of Object.values(dirs)) await mkdir(join(dir, "k"), { recursive: true });
  const fsStore = createStore(dirs.anystore);
  const uFs = createStorage({ driver: unstorageFs({ base: dirs.unstorage }) });
  let tmp = 0;
  const fsImpls = {
    anystore: { put: (k, v) => fsStore.put(k, v), get: (k) => fsStore.get(k), list: () => countKeys(fsStore.keys({ prefix: "p3" })) },
    "raw fs/promises": {
      put: (k, v) => writeFile(join(dirs.raw, k), v),
      get: (k) => readFile(join(dirs.raw, k), "utf8"),
      list: async () => (await readdir(join(dirs.raw, "p3"), { recursive: true })).length,
    },
    "raw fs, atomic (temp + rename)": {
      put: async (k, v) => {
        const temp = join(dirs.rawAtomic, `k/.tmp-${tmp++}`);
        await writeFile(temp, v);
        await rename(temp, join(dirs.rawAtomic, k));
      },
      get: (k) => readFile(join(dirs.rawAtomic, k), "utf8"),
      list: async () => (await readdir(join(dirs.rawAtomic, "p3"), { recursive: true })).length,
    },
    unstorage: { put: (k, v) => uFs.setItem(k, v), get: (k) => uFs.getItem(k), list: () => uFs.getKeys("p3") },
  };
  const fsRows = await putGet(fsImpls, 2000);
  for (const dir of [dirs.raw, dirs.rawAtomic]) for (let p = 0; p < 10; p++) await mkdir(join(dir, `p${p}`), { recursive: true });
  await seed(fsImpls);
  fsRows.push(await listing(fsImpls));
  fsRows.push(...(await bigValue(fsStore, dirs.raw)));
  report.table("fs", fsRows);
  await rm(ROOT, { recursive: true, force: true });
}

async function countKeys(iterable) {
  let n = 0;
  for await (const _ of iterable) n++;
  return n;
}

/** One 256 MiB value streamed in and out; throughput and peak extra RSS vs raw node:fs streams. */
async function bigValue(store, rawDir) {
  const size = 256 * MiB;
  const { createWriteStream, createReadStream } = await import("node:fs");
  const { Writable, Readable } = await import("node:stream");
  const ours = await withPeakRss(async () => {
    await store.put("big.bin", sourceStream(size));
    await drain(await store.open("big.bin"));
  });
  const raw = await withPeakRss(async () => {
    await sourceStream(size).pipeTo(Writable.toWeb(createWriteStream(join(rawDir, "big.bin"))));
    await drain(Readable.toWeb(createReadStream(join(rawDir, "big.bin"))));
  });
  return [
    { workload: "256 MiB streamed in and out", unit: "MB/s", results: { anystore: (2 * size) / 1e6 / ours.seconds, "raw fs streams": (2 * size) / 1e6 / raw.seconds } },
    { workload: "256 MiB streamed: peak extra RSS", unit: "MiB", results: { anystore: ours.extraRssMiB, "raw fs streams": raw.extraRssMiB } },
  ];
}
