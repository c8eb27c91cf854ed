/**
 * coordination: `lock` and `queue` (SPEC 13) per driver, one client, no contention, so the rows
 * show what each step costs in round trips on that backend:
 * - lock acquire/release pairs per second: `put(key, token, { ifNotExists, ttl })`, then the
 *   release's read-compare-delete (a get and a delete);
 * - queue push per second (one put), and take+ack per second (a claim put with `ifNotExists` and
 *   ttl, a get of the item, a delete; plus one listing per 1,000 takes).
 * Redis also has a raw ioredis column for the lock: `SET NX PX` and a compare-and-`DEL` Lua script,
 * the one-round-trip release a driver capability could give (see src/core/coordination/atomic.ts).
 * The HTTP server (`serve()` over memory) runs in a child process.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import Redis from "ioredis";
import pg from "pg";
import { createStore, lock, queue } from "../../dist/index.node.js";
import { bestOf } from "../lib.mjs";

export const title = "coordination: lock and queue per driver";
const RUN = `bench-coord-${process.pid}-${Date.now().toString(36)}`;
const PG_URL = process.env.PG_URL ?? "postgresql://postgres@127.0.0.1:5432/test";
const REDIS_DB = 12;
const ROUNDS = 3;
const RAW_REDIS = "raw ioredis (SET NX PX, compare-and-DEL script)";
const dist = fileURLToPath(new URL("../../dist/index.node.js", import.meta.url));

const W = {
  lock: "lock acquire/release, sequential",
  push: "queue push, sequential",
  take: "queue take+ack, sequential",
};

/** The figures for one store; `ops` scales the work to the backend's speed. */
async function measure(store, ops) {
  let round = 0;
  const lockPairs = await bestOf(ROUNDS, async () => (await lock(store, "bench/.LOCK", { ttl: 60 })).release(), {
    ops,
    warmup: 20,
  });
  const rates = { push: 0, take: 0 };
  for (let r = 0; r < ROUNDS; r++) {
    const items = queue(store, { prefix: `bench/q${round++}`, visibility: 60 });
    const started = performance.now();
    for (let i = 0; i < ops; i++) await items.push({ i });
    const pushed = performance.now();
    for (let i = 0; i < ops; i++) {
      const item = await items.take();
      if (!item) throw new Error(`take ${i} found nothing`);
      await item.ack();
    }
    const taken = performance.now();
    if ((await items.size()) !== 0) throw new Error("items left after the takes");
    rates.push = Math.max(rates.push, ops / ((pushed - started) / 1000));
    rates.take = Math.max(rates.take, ops / ((taken - pushed) / 1000));
  }
  return { lock: lockPairs, push: rates.push, take: rates.take };
}

const rows = (figures, extra = {}) => [
  { workload: W.lock, unit: "pairs/s", results: { anystore: figures.lock, ...extra } },
  { workload: W.push, unit: "ops/s", results: { anystore: figures.push } },
  { workload: W.take, unit: "items/s", results: { anystore: figures.take } },
];

/** The lock done with ioredis directly: one SET NX PX, one script that deletes only our token. */
async function rawRedisLock(ops) {
  const redis = new Redis({ db: REDIS_DB });
  const release = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end";
  const key = `${RUN}/raw/.LOCK`;
  try {
    return await bestOf(
      ROUNDS,
      async (i) => {
        const token = `t${i}`;
        if ((await redis.set(key, token, "PX", 60_000, "NX")) !== "OK") throw new Error("raw lock was held");
        await redis.eval(release, 1, key, token);
      },
      { ops, warmup: 20 },
    );
  } finally {
    redis.disconnect();
  }
}

/** serve() over a memory store in a child process; resolves to its url and a stop function. */
function startServer() {
  const code = `const { createStore, serve } = await import(${JSON.stringify(dist)});
    const server = await serve(createStore("memory://"));
    process.stdout.write(server.url + "\\n");
    process.stdin.on("end", () => process.exit(0)).resume();`;
  const child = spawn(process.execPath, ["--input-type=module", "-e", code], { stdio: ["pipe", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
      if (out.includes("\n")) resolve({ url: out.trim(), stop: () => child.stdin.end() });
    });
    child.once("exit", (code) => reject(new Error(`server exited with ${code}`)));
  });
}

/** Deletes this run's Redis keys (SCAN, never KEYS), anystore's side keys included. */
async function dropRedisKeys() {
  const redis = new Redis({ db: REDIS_DB });
  for (const pattern of [`${RUN}*`, `*{${RUN}*`]) {
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 1000);
      cursor = next;
      if (keys.length > 0) await redis.unlink(keys);
    } while (cursor !== "0");
  }
  redis.disconnect();
}

export default async function run(report) {
  const dir = await mkdtemp(join(tmpdir(), "anystore-bench-coord-"));
  const table = `bench_coord_${process.pid}`;
  const backends = [
    { title: "memory: lock and queue", uri: "memory://", ops: 3000 },
    {
      title: "fs: lock and queue (temp dir)",
      uri: join(dir, "fs"),
      ops: 500,
      notes:
        "A lock with a ttl is two files: the value, created with link() (atomic, refuses an existing key), and its expiry in a sidecar file under .anystore/ttl; the release reads the value, then deletes both. A claim is the same, so take+ack writes four files and removes two.",
    },
    { title: "SQLite file: lock and queue", uri: `sqlite:///${join(dir, "bench.db")}`, ops: 500 },
    { title: "PostgreSQL: lock and queue", uri: PG_URL, options: { table }, ops: 500 },
    {
      title: "Redis: lock and queue",
      uri: `redis://127.0.0.1:6379/${REDIS_DB}/${RUN}`,
      ops: 1000,
      raw: rawRedisLock,
      notes:
        "anystore's release is a GET, a comparison and a DEL (three round trips per pair in all, the raw column two): the store's API has no conditional delete yet. A driver capability running the raw column's script (src/core/coordination/atomic.ts) would make it one.",
    },
    { title: "http: lock and queue (anystore+http to serve() over memory, another process)", http: true, ops: 500 },
  ];
  try {
    for (const backend of backends) {
      let server;
      let store;
      try {
        if (backend.http) server = await startServer();
        store = createStore(server ? `anystore+${server.url}` : backend.uri, backend.options);
        const figures = await measure(store, backend.ops);
        const extra = backend.raw ? { [RAW_REDIS]: await backend.raw(backend.ops) } : {};
        report.table(backend.title, rows(figures, extra), backend.notes ? { notes: backend.notes } : {});
      } catch (error) {
        console.error(`${backend.title} failed: ${error?.stack ?? error}`);
        report.table(backend.title, [], { error: String(error?.message ?? error).split("\n")[0] });
      } finally {
        await store?.close();
        server?.stop();
      }
    }
  } finally {
    const pool = new pg.Pool({ connectionString: PG_URL, max: 1 });
    await pool.query(`DROP TABLE IF EXISTS "${table}"`).catch(() => {});
    await pool.end();
    await dropRedisKeys().catch(() => {});
    await rm(dir, { recursive: true, force: true });
  }
}
