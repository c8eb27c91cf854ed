/**
 * memory and fs: anystore vs unstorage (createStorage() with its memory and fs drivers), keyv
 * (its default Map, memory only) and raw node:fs/promises, in one process and one run.
 * Keys and 1 KiB values are made before timing, so only the stores are measured. Each
 * workload runs its implementations in turn, round after round, keeping each one's best
 * round: the machine is shared, and interleaving spreads its noise evenly.
 */
import { mkdir, open, readdir, readFile, rename, rm, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import Keyv from "keyv";
import { createStorage } from "unstorage";
import unstorageFs from "unstorage/drivers/fs";
import unstorageMemory from "unstorage/drivers/memory";
import { createStore } from "../../dist/index.node.js";
import {
  BATCH,
  batchRows,
  countKeys,
  deleteRow,
  IN_FLIGHT,
  LIST_PREFIX,
  listAllRow,
  listRow,
  opsPerSec,
  pool,
  rowOf,
  seedForListing,
  streamRows,
  takingTurns,
  tempDir,
  W,
} from "../lib.mjs";

export const title = "memory and fs";
/** Rounds per workload: memory rounds are short, so more of them. */
const ROUNDS = { memory: 9, fs: 5 };

const keysOf = (n) => Array.from({ length: n }, (_, i) => `k/${i}`);
const text1k = (i) => `${"x".repeat(1000)}${String(i).padStart(24, "0")}`;
const bytes1k = (i) => new Uint8Array(1024).fill(i & 255);

/**
 * The four put/get rows. `impls`: name -> { put(i), get(i) } for key and value number i (made
 * before timing, unlike lib's putGetRows, so that per-op string building does not blur the
 * in-memory figures); `n` distinct keys, taken in turn.
 */
async function putGetRows(impls, n, rounds) {
  const rows = [];
  for (const [workload, op, concurrency] of [
    [W.putSeq, "put", 1],
    [W.getSeq, "get", 1],
    [W.put32, "put", IN_FLIGHT],
    [W.get32, "get", IN_FLIGHT],
  ]) {
    const measure = (impl) =>
      impl[op] && opsPerSec((i) => impl[op](i % n), { ops: n, concurrency, warmup: Math.min(n, 500) });
    rows.push(rowOf(workload, await takingTurns(impls, measure, rounds)));
  }
  return rows;
}

async function memoryTables(report) {
  const n = 20_000;
  const keys = keysOf(n);
  const texts = Array.from({ length: n }, (_, i) => text1k(i));
  const blocks = Array.from({ length: n }, (_, i) => bytes1k(i));
  const rounds = ROUNDS.memory;

  const strings = createStore("memory://");
  const uStrings = createStorage({ driver: unstorageMemory() });
  const kv = new Keyv();
  // The listing keys go to stores of their own, so that "all keys" are the 100,000.
  const listed = new Map();
  const listedStore = createStore("memory://");
  const uListed = createStorage({ driver: unstorageMemory() });
  const stringImpls = {
    anystore: {
      put: (i) => strings.put(keys[i], texts[i]),
      get: (i) => strings.get(keys[i]),
      putMany: (entries) => strings.putMany(entries),
      getMany: (keys) => strings.getMany(keys),
      list: () => countKeys(listedStore.keys({ prefix: LIST_PREFIX })),
      listAll: () => countKeys(listedStore.keys()),
    },
    // Listing only (the put/get baseline is the bytes table's): a walk of a Map's keys.
    "raw Map": {
      list: async () => {
        let n = 0;
        for (const key of listed.keys()) if (key.startsWith(`${LIST_PREFIX}/`)) n++;
        return n;
      },
      listAll: async () => {
        let n = 0;
        for (const _ of listed.keys()) n++;
        return n;
      },
    },
    unstorage: {
      put: (i) => uStrings.setItem(keys[i], texts[i]),
      get: (i) => uStrings.getItem(keys[i]),
      putMany: (entries) => uStrings.setItems(entries.map(([key, value]) => ({ key, value }))),
      getMany: (keys) => uStrings.getItems(keys),
      list: () => uListed.getKeys(LIST_PREFIX),
      listAll: () => uListed.getKeys(),
    },
    // The floor of any async listing: a consumer's `for await` takes a microtask per key.
    "for await over the Map's keys": {
      list: async () => {
        let n = 0;
        for await (const key of listed.keys()) if (key.startsWith(`${LIST_PREFIX}/`)) n++;
        return n;
      },
      listAll: () => countKeys(listed.keys()),
    },
    keyv: {
      put: (i) => kv.set(keys[i], texts[i]),
      get: (i) => kv.get(keys[i]),
      putMany: (entries) => kv.setMany(entries.map(([key, value]) => ({ key, value }))),
      getMany: (keys) => kv.getMany(keys),
      // keyv cannot list the keys of its Map store.
    },
  };
  const stringRows = [
    ...(await putGetRows(stringImpls, n, rounds)),
    ...(await batchRows(stringImpls, { rounds, batches: 5 })),
  ];
  await seedForListing((entries) => listedStore.putMany(entries));
  await seedForListing((entries) => uListed.setItems(entries.map(([key, value]) => ({ key, value }))));
  await seedForListing(async (entries) => {
    for (const [key, value] of entries) listed.set(key, value);
  });
  stringRows.push(await listRow(stringImpls, { rounds }));
  stringRows.push(await listAllRow(stringImpls, { rounds }));
  report.table("memory, 1 KiB strings (auto serialization)", stringRows);

  // Bytes, in raw mode (auto would decode bytes that are valid UTF-8 to text). anystore copies in
  // and out (callers may reuse or mutate theirs); unstorage's raw API keeps and returns the caller's
  // array. keyv's default serializer does not give a Uint8Array back, so it sits this one out.
  const bytes = createStore("memory://", { serialization: "raw" });
  const uBytes = createStorage({ driver: unstorageMemory() });
  const batch = Array.from({ length: BATCH }, (_, i) => [`b/${String(i).padStart(4, "0")}`, blocks[i]]);
  const batchKeys = batch.map(([k]) => k);
  const check = (got) => {
    if (got.length !== BATCH && got.size !== BATCH) throw new Error("getMany lost keys");
  };
  const map = new Map();
  const bytesImpls = {
    anystore: {
      put: (i) => bytes.put(keys[i], blocks[i]),
      get: (i) => bytes.get(keys[i]),
      putMany: () => bytes.putMany(batch),
      getMany: async () => check(await bytes.getMany(batchKeys)),
      seed: (i) => bytes.put(`d/${i}`, blocks[i]),
      delete: (i) => bytes.delete(`d/${i}`),
    },
    // The floor: a Map with the copies the contract needs (callers may reuse or mutate their arrays).
    "raw Map, copy in and out": {
      put: async (i) => void map.set(keys[i], blocks[i].slice()),
      get: async (i) => map.get(keys[i]).slice(),
      putMany: async () => {
        for (const [key, value] of batch) map.set(key, value.slice());
      },
      getMany: async () => check(batchKeys.map((key) => map.get(key).slice())),
      seed: async (i) => void map.set(`d/${i}`, blocks[i].slice()),
      delete: async (i) => void map.delete(`d/${i}`),
    },
    unstorage: {
      put: (i) => uBytes.setItemRaw(keys[i], blocks[i]),
      get: (i) => uBytes.getItemRaw(keys[i]),
      // unstorage has no raw batch: its raw calls side by side.
      putMany: () => Promise.all(batch.map(([key, value]) => uBytes.setItemRaw(key, value))),
      getMany: async () => check(await Promise.all(batchKeys.map((key) => uBytes.getItemRaw(key)))),
    },
  };
  const bytesRows = [
    ...(await putGetRows(bytesImpls, n, rounds)),
    ...(await batchRows(bytesImpls, { rounds, batches: 5 })),
    await deleteRow(bytesImpls, { n: 10_000, rounds }),
  ];
  report.table("memory, 1 KiB Uint8Arrays (raw serialization)", bytesRows);
}

/** The fs workloads; `root` is an empty temp directory. */
async function fsTable(root) {
  const n = 2000;
  const keys = keysOf(n);
  const texts = Array.from({ length: n }, (_, i) => text1k(i));
  const rounds = ROUNDS.fs;
  const dirs = {
    anystore: join(root, "anystore"),
    raw: join(root, "raw"),
    atomic: join(root, "atomic"),
    unstorage: join(root, "unstorage"),
  };
  for (const dir of Object.values(dirs)) {
    await mkdir(join(dir, "k"), { recursive: true });
    await mkdir(join(dir, "b"), { recursive: true });
  }
  const store = createStore(dirs.anystore);
  const uFs = createStorage({ driver: unstorageFs({ base: dirs.unstorage }) });
  const rawPath = keys.map((k) => join(dirs.raw, k));
  const atomicPath = keys.map((k) => join(dirs.atomic, k));
  let tmp = 0;
  /** writeFile to a temp name in the target folder, then rename: the baseline for an atomic put. */
  const atomicWrite = async (path, value) => {
    const temp = join(path, `../.tmp-${tmp++}`);
    await writeFile(temp, value);
    await rename(temp, path);
  };
  const impls = {
    anystore: {
      put: (i) => store.put(keys[i], texts[i]),
      get: (i) => store.get(keys[i]),
      putMany: (entries) => store.putMany(entries),
      getMany: (keys) => store.getMany(keys),
    },
    "raw fs/promises": {
      put: (i) => writeFile(rawPath[i], texts[i]),
      get: (i) => readFile(rawPath[i], "utf8"),
      putMany: (entries) => pool(entries, ([k, v]) => writeFile(join(dirs.raw, k), v), 16),
      getMany: (keys) => Promise.all(keys.map((k) => readFile(join(dirs.raw, k), "utf8"))),
    },
    "raw fs/promises, temp + rename": {
      put: (i) => atomicWrite(atomicPath[i], texts[i]),
      get: (i) => readFile(atomicPath[i], "utf8"),
      putMany: (entries) => pool(entries, ([k, v]) => atomicWrite(join(dirs.atomic, k), v), 16),
      getMany: (keys) => Promise.all(keys.map((k) => readFile(join(dirs.atomic, k), "utf8"))),
    },
    unstorage: {
      put: (i) => uFs.setItem(keys[i], texts[i]),
      get: (i) => uFs.getItem(keys[i]),
      putMany: (entries) => uFs.setItems(entries.map(([key, value]) => ({ key, value }))),
      getMany: (keys) => uFs.getItems(keys),
    },
  };
  const rows = [...(await putGetRows(impls, n, rounds)), ...(await batchRows(impls, { rounds }))];
  rows.push(await fsDeleteRow(dirs, store, uFs));
  rows.push(...(await fsListRows(root)));
  return rows;
}

/** Sequential deletes of keys in one folder (`d/0` ...), each implementation in its own directory. */
async function fsDeleteRow(dirs, store, uFs) {
  for (const dir of Object.values(dirs)) await mkdir(join(dir, "d"), { recursive: true });
  const value = text1k(0);
  const rawPath = (i) => join(dirs.raw, "d", String(i));
  return deleteRow(
    {
      anystore: { seed: (i) => store.put(`d/${i}`, value), delete: (i) => store.delete(`d/${i}`) },
      "raw fs/promises": { seed: (i) => writeFile(rawPath(i), value), delete: (i) => unlink(rawPath(i)) },
      unstorage: { seed: (i) => uFs.setItem(`d/${i}`, value), delete: (i) => uFs.removeItem(`d/${i}`) },
    },
    { n: 1000, rounds: ROUNDS.fs },
  );
}

/** One directory of 100,000 small files in 100 folders (the layout is the same for all three), listed by each. */
async function fsListRows(root) {
  const dir = join(root, "listed");
  const made = new Set();
  await seedForListing(async (entries) => {
    for (const [key] of entries) {
      const folder = key.slice(0, key.indexOf("/"));
      if (!made.has(folder)) await mkdir(join(dir, folder), { recursive: true });
      made.add(folder);
    }
    await pool(entries, ([key, value]) => writeFile(join(dir, key), value), 16);
  });
  const store = createStore(dir);
  const uFs = createStorage({ driver: unstorageFs({ base: dir }) });
  const files = async (path) =>
    (await readdir(path, { recursive: true, withFileTypes: true })).filter((entry) => entry.isFile());
  const impls = {
    anystore: {
      list: () => countKeys(store.keys({ prefix: LIST_PREFIX })),
      listAll: () => countKeys(store.keys()),
    },
    "raw fs/promises": { list: () => files(join(dir, LIST_PREFIX)), listAll: () => files(dir) },
    unstorage: { list: () => uFs.getKeys(LIST_PREFIX), listAll: () => uFs.getKeys() },
  };
  return [await listRow(impls, { rounds: ROUNDS.fs }), await listAllRow(impls, { rounds: ROUNDS.fs })];
}

/**
 * One 256 MiB value through fs, in and out, vs raw fs/promises: first, while the process is
 * fresh, so RSS means something. Two rounds in opposite orders (one writer's writeback slows
 * the next): the best throughput of each, the worst RSS.
 */
async function fsStreamRows(root) {
  const impls = streamImpls(root);
  const first = await streamRows(impls);
  const second = await streamRows(Object.fromEntries(Object.entries(impls).reverse()));
  // The larger figure of the two rounds: the best rate, and the worst (largest) RSS.
  return first.map((row, i) => {
    const names = Object.keys(impls).filter((name) => name in row.results || name in second[i].results);
    const results = Object.fromEntries(
      names.map((name) => [name, Math.max(row.results[name] ?? 0, second[i].results[name] ?? 0)]),
    );
    return { ...row, results };
  });
}

function streamImpls(root) {
  const store = createStore(join(root, "big"));
  const rawPath = join(root, "big.bin");
  return {
    anystore: {
      write: (stream) => store.put("big.bin", stream),
      read: () => store.open("big.bin"),
      cleanup: () => store.delete("big.bin"),
    },
    "raw fs/promises": {
      write: (stream) => writeFile(rawPath, stream),
      read: async () => {
        const file = await open(rawPath);
        try {
          return await drainNode(file.createReadStream({ autoClose: false }));
        } finally {
          await file.close();
        }
      },
      cleanup: () => rm(rawPath, { force: true }),
    },
  };
}

async function drainNode(stream) {
  let bytes = 0;
  for await (const chunk of stream) bytes += chunk.byteLength;
  return bytes;
}

export default async function run(report) {
  const root = await tempDir("core");
  try {
    const only = process.env.CORE_ONLY;
    const streams = only === "memory" ? [] : await fsStreamRows(root);
    if (only !== "fs") await memoryTables(report);
    if (only !== "memory") report.table("fs", [...(await fsTable(root)), ...streams]);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
