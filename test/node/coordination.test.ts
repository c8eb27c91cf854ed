/**
 * Coordination across processes (issue 17, SPEC 13) on every backend that several processes
 * share: fs, an SQLite file, PostgreSQL, Redis, and `anystore+http` to a `serve()` over SQLite.
 * Worker processes (coordination-worker.ts) contend for one lock, drain one queue, hit one rate
 * limit and crash while holding a lock and an item. Single-process behaviour (layouts, options,
 * the queue's window) is in coordination-unit.test.ts.
 */

import type { ChildProcessByStdio } from "node:child_process";
import { execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import type { Readable, Writable } from "node:stream";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Store, StoreOptions } from "../../src/index.node.js";
import { createStore, isAnystoreError, lock, queue, serve, tags } from "../../src/index.node.js";
import type { Job } from "./coordination-worker.js";
import { TMP } from "./tmp.js";

const RUN = `anystore-coord-${process.pid}-${Date.now().toString(36)}`;
const SCRATCH = join(TMP, RUN);
const PG_URL = process.env.PG_URL ?? "postgresql://postgres@127.0.0.1:5432/test";
const REDIS_DB = 8;
const WORKERS = 5;
let counter = 0;

/** A worker process: a JSON command per line in, a JSON answer per line out. */
class WorkerProcess {
  readonly child: ChildProcessByStdio<Writable, Readable, null>;
  readonly #answers: AsyncIterator<string>;

  constructor() {
    const root = resolve(import.meta.dirname, "../..");
    this.child = spawn(process.execPath, ["--import", "tsx", join(import.meta.dirname, "coordination-worker.ts")], {
      cwd: root,
      stdio: ["pipe", "pipe", "inherit"],
    });
    this.#answers = createInterface({ input: this.child.stdout })[Symbol.asyncIterator]();
  }

  async ask<T>(command: object): Promise<T> {
    this.child.stdin.write(`${JSON.stringify(command)}\n`);
    const { value, done } = await this.#answers.next();
    if (done) throw new Error(`a worker process exited (code ${this.child.exitCode})`);
    const answer = JSON.parse(value) as T & { error?: string };
    if (answer.error !== undefined) throw new Error(`in a worker process: ${answer.error}`);
    return answer;
  }

  async stop(signal?: NodeJS.Signals): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = once(this.child, "exit");
    if (signal) this.child.kill(signal);
    else this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

let workers: WorkerProcess[] = [];
let pgPool: pg.Pool | undefined;
let redis: Redis | undefined;
const opened: Store[] = [];
const servers: Array<{ close(): Promise<void> }> = [];
const cleanups: Array<() => Promise<void>> = [];

beforeAll(() => {
  mkdirSync(SCRATCH, { recursive: true });
  workers = Array.from({ length: WORKERS }, () => new WorkerProcess());
});

afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop()));
  await Promise.all(servers.map((s) => s.close()));
  await Promise.all(opened.map((s) => s.close()));
  for (const cleanup of cleanups) await cleanup().catch(() => {});
  await pgPool?.end();
  redis?.disconnect();
  rmSync(SCRATCH, { recursive: true, force: true });
}, 60_000);

/** Runs one job per worker (`jobs[i]` on worker i), all started at once; resolves to their answers. */
async function runTogether<T>(jobs: Job[]): Promise<T[]> {
  await Promise.all(jobs.map((job, i) => workers[i]!.ask({ op: "prepare", job })));
  return Promise.all(jobs.map((_, i) => workers[i]!.ask<T>({ op: "go" })));
}

interface Target {
  name: string;
  /** A fresh, empty store of this backend, as a uri and options any process can open. */
  make(): Promise<{ uri: string; options?: StoreOptions }>;
}

const sqliteUri = () => `sqlite:///${join(SCRATCH, `sqlite-${++counter}.db`)}`;

const targets: Target[] = [
  { name: "fs", make: async () => ({ uri: join(SCRATCH, `fs-${++counter}`) }) },
  { name: "sqlite file", make: async () => ({ uri: sqliteUri() }) },
  {
    name: "postgresql",
    async make() {
      const table = `anystore_coord${process.pid}_${++counter}`;
      pgPool ??= new pg.Pool({ connectionString: PG_URL, max: 1 });
      const pool = pgPool;
      cleanups.push(async () => void (await pool.query(`DROP TABLE IF EXISTS "${table}"`)));
      return { uri: PG_URL, options: { table } };
    },
  },
  {
    name: "redis",
    async make() {
      const prefix = `${RUN}/${++counter}`;
      redis ??= new Redis({ db: REDIS_DB, lazyConnect: true });
      cleanups.push(() => dropRedisKeys(prefix));
      return { uri: `redis://127.0.0.1:6379/${REDIS_DB}/${prefix}` };
    },
  },
  {
    name: "anystore+http to serve() over sqlite",
    async make() {
      const store = createStore(sqliteUri());
      opened.push(store);
      const server = await serve(store);
      servers.push(server);
      return { uri: `anystore+${server.url}` };
    },
  },
];

/** Deletes a Redis prefix's keys, anystore's side keys included (SCAN, never KEYS). */
async function dropRedisKeys(prefix: string): Promise<void> {
  for (const pattern of [`${prefix}/*`, `*{${prefix}/*`]) {
    let cursor = "0";
    do {
      const [next, keys] = await redis!.scan(cursor, "MATCH", pattern, "COUNT", 1000);
      cursor = next;
      if (keys.length > 0) await redis!.unlink(keys);
    } while (cursor !== "0");
  }
}

async function storeOf(target: Target): Promise<{ uri: string; options?: StoreOptions; store: Store }> {
  const made = await target.make();
  const store = createStore(made.uri, made.options);
  opened.push(store);
  return { ...made, store };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Calls `fn` until it resolves to something other than null, for at most `ms`. */
async function eventually<T>(fn: () => Promise<T | null>, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await fn();
    if (value !== null) return value;
    if (Date.now() > deadline) throw new Error(`nothing after ${ms} ms`);
    await sleep(100);
  }
}

for (const target of targets) {
  describe(target.name, () => {
    it(`50 contenders in ${WORKERS} processes hold the lock one at a time`, { timeout: 120_000 }, async () => {
      const { uri, options, store } = await storeOf(target);
      const log = join(SCRATCH, `lock-${++counter}.log`);
      writeFileSync(log, "");
      const jobs = workers.map(
        (_, i): Job => ({
          mode: "lock",
          uri,
          options,
          name: `p${i}`,
          key: "jobs/.LOCK",
          log,
          contenders: 50 / WORKERS,
        }),
      );
      const answers = await runTogether<{ released: number }>(jobs);
      const lines = readFileSync(log, "utf8").trimEnd().split("\n");
      expect(lines).toHaveLength(100);
      for (let i = 0; i < lines.length; i += 2) {
        const [what, who] = lines[i]!.split(" ");
        expect(what, `line ${i + 1}: a holder starts only after the previous one ended`).toBe("start");
        expect(lines[i + 1], `line ${i + 2}: nobody else ran inside ${who}'s turn`).toBe(`end ${who}`);
      }
      expect(new Set(lines.map((l) => l.split(" ")[1])).size).toBe(50);
      expect(
        answers.reduce((sum, a) => sum + a.released, 0),
        "every release found its own lock",
      ).toBe(50);
      expect(await store.exists("jobs/.LOCK")).toBe(false);
    });

    it("3 consumers x 300 items: every item acked exactly once", { timeout: 120_000 }, async () => {
      const { uri, options, store } = await storeOf(target);
      const jobs = [0, 1, 2].map(
        (i): Job => ({ mode: "queue", uri, options, name: `c${i}`, prefix: "work", push: 100 }),
      );
      const answers = await runTogether<{ acked: Array<[string, string]> }>(jobs);
      const acked = answers.flatMap((a) => a.acked);
      const values = acked.map(([, value]) => value).sort();
      const expected = [0, 1, 2].flatMap((c) => Array.from({ length: 100 }, (_, i) => `c${c}-${i}`)).sort();
      expect(values).toEqual(expected);
      expect(new Set(acked.map(([id]) => id)).size, "ids are unique across processes").toBe(300);
      expect(await queue(store, { prefix: "work" }).size()).toBe(0);
      const left: string[] = [];
      for await (const key of store.keys({ prefix: "work" })) left.push(key);
      expect(left, "no items left").toEqual([]);
    });

    it("rateLimit counts the hits of 3 processes", { timeout: 120_000 }, async () => {
      const { uri, options, store } = await storeOf(target);
      const jobs = [0, 1, 2].map((i): Job => ({ mode: "hit", uri, options, name: `h${i}`, resource: "api", hits: 20 }));
      const answers = await runTogether<{ counts: number[] }>(jobs);
      const counts = answers.flatMap((a) => a.counts).sort((a, b) => a - b);
      // Every hit saw the ones before it: no two hits read the same count (none was lost).
      expect(counts).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
      const slot = Math.floor(Date.now() / 10_000);
      expect(await store.get(`rate/api/${slot}`), "Python's layout: rate/<resource>/<slot> holds the count").toBe(60);
    });

    it("a killed holder: its lock frees itself after ttl, its item comes back after visibility", {
      timeout: 120_000,
    }, async () => {
      const { uri, options, store } = await storeOf(target);
      const items = queue<string>(store, { prefix: "crash", visibility: 3 });
      const pushed = await items.push("the item");
      const crasher = new WorkerProcess();
      try {
        const { token, item } = await crasher.ask<{ token: string; item: string }>({
          op: "crash",
          job: {
            mode: "lock",
            uri,
            options,
            name: "crasher",
            key: "locks/crash",
            ttl: 3,
            prefix: "crash",
            visibility: 3,
          },
        });
        expect(item).toBe(pushed);
        await crasher.stop("SIGKILL");
        // Still held: the dead process's lock and claim are alive until they expire.
        const refused = await lock(store, "locks/crash", { wait: false }).catch((error) => error);
        expect(isAnystoreError(refused, "ALREADY_EXISTS")).toBe(true);
        expect(await items.take()).toBeNull();
        const held = await lock(store, "locks/crash", { timeout: 30, pollInterval: 50 });
        expect(held.token).not.toBe(token);
        const again = await eventually(() => items.take(), 30_000);
        expect([again.id, again.value]).toEqual([pushed, "the item"]);
        await again.ack();
        expect(await held.release()).toBe(true);
        expect(await items.size()).toBe(0);
      } finally {
        await crasher.stop("SIGKILL");
      }
    });

    it("release and renew never touch a lock that has passed to another holder", { timeout: 60_000 }, async () => {
      const { store } = await storeOf(target);
      const first = await lock(store, "handover", { ttl: 30 });
      await store.delete("handover"); // as if its ttl had run out
      const second = await lock(store, "handover", { wait: false, ttl: 30 });
      expect(await first.renew()).toBe(false);
      expect(await first.release()).toBe(false);
      expect(await store.get("handover", { serialization: "raw" })).toEqual(new TextEncoder().encode(second.token));
      // Really expired this time: the old holder gives up without a read.
      const short = await lock(store, "expiring", { ttl: 1 });
      const next = await lock(store, "expiring", { timeout: 30, pollInterval: 50 });
      expect(await short.release()).toBe(false);
      expect(await short.renew()).toBe(false);
      expect(await next.release()).toBe(true);
      expect(await second.release()).toBe(true);
      expect(await store.exists("handover")).toBe(false);
    });

    it("tags: touch stores the start time only on success; deletePrefix", async () => {
      const { store } = await storeOf(target);
      const t = tags(store);
      const before = Date.now();
      expect(
        await t.touch("runs/1/ok", async (startedAt) => {
          await sleep(20);
          return startedAt.getTime();
        }),
      ).toBeGreaterThanOrEqual(before);
      const stored = new Date((await t.get("runs/1/ok")) as string).getTime();
      expect(stored).toBeGreaterThanOrEqual(before);
      expect(stored).toBeLessThan(Date.now() - 10); // the start, not the end
      await expect(t.touch("runs/1/failed", () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
      expect(await t.exists("runs/1/failed")).toBe(false);
      await t.put("runs/2/ok", "x");
      await t.put("runsx", "y");
      expect(await t.deletePrefix("runs")).toBe(2);
      expect(await t.exists("runsx")).toBe(true);
    });
  });
}

describe("the README's job runner (examples/job-runner.mjs) over Redis", () => {
  it("runs every job once, and one runner compacts while the others skip", { timeout: 60_000 }, async () => {
    const prefix = `${RUN}/example`;
    redis ??= new Redis({ db: REDIS_DB, lazyConnect: true });
    cleanups.push(() => dropRedisKeys(prefix));
    const root = resolve(import.meta.dirname, "../..");
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ["--import", "./test/node/anystore-from-src.mjs", "--import", "tsx", "examples/job-runner.mjs"],
      {
        cwd: root,
        env: { ...process.env, REDIS_URL: `redis://127.0.0.1:6379/${REDIS_DB}/${prefix}` },
        timeout: 50_000,
      },
    );
    const lines = stdout.trim().split("\n");
    const resized = lines.flatMap((line) => /resizing (\S+)/.exec(line)?.[1] ?? []).sort();
    expect(resized).toEqual(["a.png", "b.png", "c.png", "d.png", "e.png", "f.png"]);
    expect(lines.filter((line) => line.includes(": compacting"))).toHaveLength(1);
    expect(lines.filter((line) => line.endsWith("skipped"))).toHaveLength(2);
    expect(lines.at(-1)).toBe("all jobs done");
  });
});
