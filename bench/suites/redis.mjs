/** redis: anystore vs raw ioredis and unstorage's redis driver, on the machine's Redis (db 12). */
import Redis from "ioredis";
import { createStorage } from "unstorage";
import unstorageRedis from "unstorage/drivers/redis";
import { createStore } from "../../dist/index.node.js";
import { drain, MiB, opsPerSec, sourceStream, value1k, withPeakRss } from "../lib.mjs";

export const title = "redis (127.0.0.1:6379, db 12)";
const DB = 12;
const RUN = `bench-${process.pid}-${Date.now().toString(36)}`;
const N = 5000;
const BIG = 256 * MiB;

/** SCAN + DEL of every key of this run (values, and anystore's hidden side keys). */
async function cleanup(raw) {
  for (const pattern of [`${RUN}*`, `.anystore/t/{${RUN}*`, `.anystore/w/*{${RUN}*`]) {
    let cursor = "0";
    do {
      const [next, keys] = await raw.scan(cursor, "MATCH", pattern, "COUNT", 1000);
      cursor = next;
      if (keys.length > 0) await raw.unlink(keys);
    } while (cursor !== "0");
  }
}

/** Best of 3 rounds per implementation, the implementations taking turns within each round (the machine is shared). */
async function takingTurns(impls, measure) {
  const best = {};
  for (let round = 0; round < 3; round++) {
    for (const [name, impl] of Object.entries(impls)) best[name] = Math.max(best[name] ?? 0, await measure(impl));
  }
  return best;
}

async function countKeys(iterable) {
  let n = 0;
  for await (const _ of iterable) n++;
  return n;
}

/** The raw baseline: a SCAN loop that counts matches. */
async function scanCount(raw, pattern) {
  let cursor = "0";
  let n = 0;
  do {
    const [next, keys] = await raw.scan(cursor, "MATCH", pattern, "COUNT", 1000);
    cursor = next;
    n += keys.length;
  } while (cursor !== "0");
  return n;
}

export default async function run(report) {
  const raw = new Redis({ db: DB });
  const store = createStore(`redis://127.0.0.1:6379/${DB}/${RUN}/a`);
  const storage = createStorage({ driver: unstorageRedis({ db: DB, base: `${RUN}u`, scanCount: 1000 }) });
  const rawKey = (k) => `${RUN}/raw/${k}`;
  const impls = {
    anystore: { put: (k, v) => store.put(k, v), get: (k) => store.get(k), list: () => countKeys(store.keys({ prefix: "p3" })) },
    "raw ioredis": { put: (k, v) => raw.set(rawKey(k), v), get: (k) => raw.get(rawKey(k)), list: () => scanCount(raw, `${RUN}/raw/p3/*`) },
    unstorage: { put: (k, v) => storage.setItem(k, v), get: (k) => storage.getItem(k), list: () => storage.getKeys("p3") },
  };
  try {
    const rows = [];
    for (const [workload, concurrency, op] of [
      ["put 1 KiB, sequential", 1, "put"],
      ["get 1 KiB, sequential", 1, "get"],
      ["put 1 KiB, 32 in flight", 32, "put"],
      ["get 1 KiB, 32 in flight", 32, "get"],
    ]) {
      const results = await takingTurns(impls, (impl) => opsPerSec((i) => impl[op](`k/${i % N}`, value1k(i)), { ops: concurrency === 1 ? N : 4 * N, concurrency }));
      rows.push({ workload, unit: "ops/s", results });
    }

    // Listing: 1,000 keys under one prefix among 10,000 per implementation, all in one db.
    for (const impl of Object.values(impls)) {
      for (let i = 0; i < 10_000; i += 500) {
        await Promise.all(Array.from({ length: 500 }, (_, j) => impl.put(`p${(i + j) % 10}/${i + j}`, "v")));
      }
    }
    const lists = await takingTurns(impls, (impl) => opsPerSec(() => impl.list(), { ops: 10, concurrency: 1, warmup: 2 }));
    rows.push({ workload: "list 1,000 of 10,000 keys (SCAN)", unit: "lists/s", results: lists });

    // putMany of 1,000 keys against 1,000 sequential puts.
    const entries = Array.from({ length: 1000 }, (_, i) => [`many/${i}`, value1k(i)]);
    const batches = {
      anystore: () => store.putMany(entries),
      "anystore, 1,000 sequential puts": async () => {
        for (const [k, v] of entries) await store.put(k, v);
      },
      "raw ioredis MSET": () => raw.mset(entries.flatMap(([k, v]) => [rawKey(k), v])),
      unstorage: () => storage.setItems(entries.map(([key, value]) => ({ key, value }))),
    };
    const batch = await takingTurns(batches, async (fn) => 1000 * (await opsPerSec(fn, { ops: 3, warmup: 1 })));
    rows.push({ workload: "putMany 1,000 keys of 1 KiB", unit: "keys/s", results: batch });
    report.table(title, rows);

    // 256 MiB through streams (anystore) vs whole values (raw ioredis, unstorage).
    const big = [];
    const mbps = (s) => BIG / MiB / s;
    globalThis.gc?.();
    const writeA = await withPeakRss(() => store.put("big.bin", sourceStream(BIG)));
    const readA = await withPeakRss(async () => {
      if ((await drain(await store.open("big.bin"))) !== BIG) throw new Error("short read");
    });
    await store.delete("big.bin");
    globalThis.gc?.();
    const whole = Buffer.alloc(BIG, 7);
    const writeR = await withPeakRss(() => raw.set(rawKey("big"), whole));
    const readR = await withPeakRss(async () => {
      if ((await raw.getBuffer(rawKey("big"))).byteLength !== BIG) throw new Error("short read");
    });
    await raw.unlink(rawKey("big"));
    big.push(
      { workload: "write 256 MiB", unit: "MB/s", results: { "anystore (streamed)": mbps(writeA.seconds), "raw ioredis (whole SET)": mbps(writeR.seconds) } },
      { workload: "read 256 MiB", unit: "MB/s", results: { "anystore (streamed)": mbps(readA.seconds), "raw ioredis (whole GET)": mbps(readR.seconds) } },
      { workload: "extra RSS writing 256 MiB", unit: "MiB", results: { "anystore (streamed)": writeA.extraRssMiB, "raw ioredis (whole SET)": writeR.extraRssMiB } },
      { workload: "extra RSS reading 256 MiB", unit: "MiB", results: { "anystore (streamed)": readA.extraRssMiB, "raw ioredis (whole GET)": readR.extraRssMiB } },
    );
    report.table(`${title}: a 256 MiB value`, big);
  } finally {
    await cleanup(raw);
    await Promise.all([store.close(), storage.dispose()]);
    raw.disconnect();
  }
}

