/**
 * The browser half of bench/suites/browser.mjs, bundled by rollup and run in Chromium with an
 * on-disk profile. `window.bench.indexeddb()` runs the IndexedDB rows; `window.bench.opfs()` runs
 * the OPFS rows in a dedicated worker (bench/browser/opfs-worker.mjs).
 */
import {
  get as kvGet,
  getMany as kvGetMany,
  keys as kvKeys,
  set as kvSet,
  setMany as kvSetMany,
  createStore as kvStore,
} from "idb-keyval";
import { createStorage } from "unstorage";
import { createStore } from "../../dist/index.browser.js";
import { batchRate, done, interleaved, opsRate, result, value1k } from "./measure.mjs";

const N = 1000;
/** Many short rounds: on a shared machine the best of many short turns is the least disturbed. */
const ROUNDS = 15;
const BATCH_ROUNDS = 8;

/** Raw IndexedDB, the baseline: one object store "kv", no wrapper, one transaction per call. */
async function rawIndexeddb(name) {
  const request = indexedDB.open(name, 1);
  request.onupgradeneeded = () => request.result.createObjectStore("kv");
  const db = await result(request);
  const store = (mode) => db.transaction("kv", mode).objectStore("kv");
  return {
    async put(key, value) {
      const tx = db.transaction("kv", "readwrite");
      tx.objectStore("kv").put(value, key);
      await done(tx);
    },
    get: (key) => result(store("readonly").get(key)),
    async putMany(entries) {
      const tx = db.transaction("kv", "readwrite");
      const kv = tx.objectStore("kv");
      for (const [key, value] of entries) kv.put(value, key);
      await done(tx);
    },
    getMany(keys) {
      const kv = store("readonly");
      return Promise.all(keys.map((key) => result(kv.get(key))));
    },
    listPrefix: (prefix) => result(store("readonly").getAllKeys(IDBKeyRange.bound(prefix, `${prefix}\uffff`))),
    close: () => db.close(),
  };
}

/** unstorage's IndexedDB driver (idb-keyval underneath), if it loads in this browser. */
async function unstorageIdb(name) {
  try {
    const { default: driver } = await import("unstorage/drivers/indexedb");
    return createStorage({ driver: driver({ dbName: name, storeName: "kv" }) });
  } catch (error) {
    console.error(`unstorage's indexedb driver did not load: ${error?.message ?? error}`);
    return undefined;
  }
}

/** Every implementation with the same 1 KiB values under the same keys (unstorage spells `/` as `:`). */
async function implementations(tag) {
  const store = createStore(`idb://bench-${tag}-anystore`);
  const raw = await rawIndexeddb(`bench-${tag}-raw`);
  const kv = kvStore(`bench-${tag}-kv`, "kv");
  const un = await unstorageIdb(`bench-${tag}-unstorage`);
  const close = async () => {
    await store.close();
    raw.close();
    await un?.dispose();
  };
  return { store, raw, kv, un, close };
}

const colon = (key) => key.replaceAll("/", ":");

/** put/get of 1 KiB, sequential and 32 in flight; putMany/getMany of 1,000. */
async function singlesAndBatches() {
  const { store, raw, kv, un, close } = await implementations("ops");
  const key = (i) => `k/${i % 1000}`;
  const rows = [];
  for (const [label, concurrency, ops] of [
    ["sequential", 1, 50],
    ["32 in flight", 32, 256],
  ]) {
    rows.push({
      workload: `put 1 KiB, ${label}`,
      unit: "ops/s",
      results: await interleaved(
        {
          anystore: opsRate((i) => store.put(key(i), value1k(i)), ops, concurrency),
          "raw IndexedDB": opsRate((i) => raw.put(key(i), value1k(i)), ops, concurrency),
          "idb-keyval": opsRate((i) => kvSet(key(i), value1k(i), kv), ops, concurrency),
          unstorage: un && opsRate((i) => un.setItem(colon(key(i)), value1k(i)), ops, concurrency),
        },
        ROUNDS,
      ),
    });
    rows.push({
      workload: `get 1 KiB, ${label}`,
      unit: "ops/s",
      results: await interleaved(
        {
          anystore: opsRate((i) => store.get(key(i)), ops * 2, concurrency),
          "raw IndexedDB": opsRate((i) => raw.get(key(i)), ops * 2, concurrency),
          "idb-keyval": opsRate((i) => kvGet(key(i), kv), ops * 2, concurrency),
          unstorage: un && opsRate((i) => un.getItem(colon(key(i))), ops * 2, concurrency),
        },
        ROUNDS,
      ),
    });
  }
  const batch = (round) => Array.from({ length: N }, (_, i) => [`batch/${round}/${i}`, value1k(i)]);
  const keys = (round) => Array.from({ length: N }, (_, i) => `batch/${round}/${i}`);
  rows.push({
    workload: "putMany 1,000 x 1 KiB",
    unit: "ops/s",
    results: await interleaved(
      {
        anystore: batchRate((round) => store.putMany(batch(round)), N),
        "raw IndexedDB": batchRate((round) => raw.putMany(batch(round)), N),
        "idb-keyval": batchRate((round) => kvSetMany(batch(round), kv), N),
        unstorage:
          un && batchRate((round) => un.setItems(batch(round).map(([k, value]) => ({ key: colon(k), value }))), N),
      },
      BATCH_ROUNDS,
    ),
  });
  rows.push({
    workload: "getMany 1,000 x 1 KiB",
    unit: "ops/s",
    results: await interleaved(
      {
        anystore: batchRate(async (round) => check((await store.getMany(keys(round))).size), N),
        "raw IndexedDB": batchRate(async (round) => check((await raw.getMany(keys(round))).length), N),
        "idb-keyval": batchRate(async (round) => check((await kvGetMany(keys(round), kv)).length), N),
        unstorage: un && batchRate(async (round) => check((await un.getItems(keys(round).map(colon))).length), N),
      },
      BATCH_ROUNDS,
    ),
  });
  await close();
  return rows;
}

const check = (n, expected = N) => {
  if (n !== expected) throw new Error(`expected ${expected} results, got ${n}`);
};

/**
 * A prefix holding a quarter of 2,000 keys, or 1,000 of 100,000: anystore and raw IndexedDB read
 * one key range; idb-keyval and unstorage read every key and filter in JS.
 */
async function listing(total, inPrefix, rounds, lists) {
  const { store, raw, kv, un, close } = await implementations(`list${total}`);
  const share = total / inPrefix;
  const seed = Array.from({ length: total }, (_, i) => [`p${i % share}/${String(i).padStart(6, "0")}`, "v"]);
  await store.putMany(seed);
  await raw.putMany(seed);
  await kvSetMany(seed, kv);
  // unstorage's driver is idb-keyval under its own database: seeded the same way (its setItems is one transaction per key).
  if (un)
    await kvSetMany(
      seed.map(([k, v]) => [colon(k), v]),
      kvStore(`bench-list${total}-unstorage`, "kv"),
    );
  const measure = (count) => async () => {
    const started = performance.now();
    for (let i = 0; i < lists; i++) check(await count(), inPrefix);
    return lists / ((performance.now() - started) / 1000);
  };
  const results = await interleaved(
    {
      anystore: measure(async () => {
        let n = 0;
        for await (const _ of store.keys({ prefix: "p1" })) n++;
        return n;
      }),
      "raw IndexedDB": measure(async () => (await raw.listPrefix("p1/")).length),
      "idb-keyval": measure(async () => (await kvKeys(kv)).filter((k) => k.startsWith("p1/")).length),
      unstorage: un && measure(async () => (await un.getKeys("p1")).length),
    },
    rounds,
  );
  await close();
  return { workload: `list a prefix among ${total.toLocaleString("en-US")} keys`, unit: "lists/s", results };
}

async function indexeddb() {
  const rows = await singlesAndBatches();
  rows.push(await listing(2000, 500, 15, 5));
  rows.push(await listing(100_000, 1000, 5, 2));
  return rows;
}

/** The OPFS rows, measured in a dedicated worker (sync access handles exist only there). */
function opfs() {
  return new Promise((resolve, reject) => {
    const worker = new Worker("/worker.js", { type: "module" });
    const timer = setTimeout(() => reject(new Error("the OPFS worker took over 150 s")), 150_000);
    worker.onmessage = (event) => {
      clearTimeout(timer);
      worker.terminate();
      if (event.data.error) reject(new Error(event.data.error));
      else resolve(event.data.rows);
    };
    worker.onerror = (event) => reject(new Error(event.message));
    worker.postMessage("run");
  });
}

window.bench = { indexeddb, opfs };
window.benchReady = true;
