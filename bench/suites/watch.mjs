/**
 * watch (SPEC 11): how soon a change made by another store instance reaches a watch (write to
 * event, median and p99), and what an idle watch costs (CPU, and backend requests per minute for
 * the polled drivers), per driver. The writer is a second store on the same backend in this
 * process; the clock starts before its `put` is called and stops when the watch yields the event.
 * Between samples the writer pauses a random 0-1000 ms for polled drivers (so samples fall at every
 * phase of the default `watchInterval`, 1000 ms), 0-250 ms for native feeds. The idle CPU is what
 * an open watch adds to the process over 10 s, against the same stores without it.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import mysql from "mysql2/promise";
import pg from "pg";
import { createStore } from "../../dist/index.node.js";

export const title = "watch: event latency and idle cost per driver";
const RUN = `bench-watch-${process.pid}-${Date.now().toString(36)}`;
const PG_URL = process.env.PG_URL ?? "postgresql://postgres@127.0.0.1:5432/test";
const MYSQL_URL = process.env.MYSQL_URL ?? "mysql://root@127.0.0.1:3306/test";
const IDLE_MS = 10_000;
const dist = fileURLToPath(new URL("../../dist/index.node.js", import.meta.url));

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Reads events until a put of `key` comes. */
async function putOf(events, key) {
  for (;;) {
    const { done, value } = await events.next();
    if (done) throw new Error(`the watch ended before put ${key}`);
    if (value.type === "put" && value.key === key) return;
  }
}

const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

/** Latencies of `samples` puts by `writer`, each seen by a watch of `watcher`. */
async function latencies(watcher, writer, samples, pauseMs) {
  const events = watcher.watch({ prefix: "lat" });
  await events.ready;
  const ms = [];
  try {
    for (let i = 0; i < samples; i++) {
      await sleep(Math.random() * pauseMs);
      const key = `lat/k${i}`;
      const started = performance.now();
      const seen = putOf(events, key);
      await writer.put(key, `v${i}`);
      await seen;
      ms.push(performance.now() - started);
    }
  } finally {
    await events.return();
    await writer.deleteMany(Array.from({ length: samples }, (_, i) => `lat/k${i}`));
  }
  return ms.sort((a, b) => a - b);
}

/** CPU milliseconds per minute this process spends over `IDLE_MS`. */
async function cpuPerMinute() {
  globalThis.gc?.();
  await sleep(500);
  const before = process.cpuUsage();
  const started = performance.now();
  await sleep(IDLE_MS);
  const used = process.cpuUsage(before);
  return ((used.user + used.system) / 1000) * (60_000 / (performance.now() - started));
}

/** What one idle watch adds to the process's CPU per minute: with it open, less without (the same stores, connected). */
async function idleCpu(watcher) {
  await watcher.exists("lat/none");
  const without = await cpuPerMinute();
  const events = watcher.watch({ prefix: "lat" });
  await events.ready;
  const withWatch = await cpuPerMinute();
  await events.return();
  return Math.max(0, withWatch - without);
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

export default async function run(report) {
  const dir = await mkdtemp(join(tmpdir(), "anystore-bench-watch-"));
  const table = `bench_watch_${process.pid}`;
  const sqlPoll =
    "Polled: each tick is 2 statements (the rows written in the last seconds under the prefix, and a count of the prefix's rows), plus a key-set read when the count disagrees: 120 statements a minute idle.";
  const fsNative = "Native: one `fs.watch` per folder of the prefix; an idle watch reads nothing.";
  const backends = [
    { title: "memory: watch (memory://NAME, two stores)", uri: `memory://${RUN}`, samples: 200 },
    { title: "fs: watch (temp dir)", uri: join(dir, "fs"), samples: 30, notes: fsNative },
    {
      title: "SQLite file: watch",
      uri: `sqlite:///${join(dir, "watch.db")}`,
      samples: 20,
      notes: sqlPoll,
      polled: 120,
    },
    {
      title: "PostgreSQL: watch (LISTEN/NOTIFY)",
      uri: PG_URL,
      options: { table },
      samples: 100,
      notes: "Native: writers notify after commit; the watch holds one LISTEN connection and sends nothing while idle.",
      polled: 0,
    },
    { title: "MariaDB: watch", uri: MYSQL_URL, options: { table }, samples: 20, notes: sqlPoll, polled: 120 },
    {
      title: "Redis: watch (channel anystore writers publish to)",
      uri: `redis://127.0.0.1:6379/12/${RUN}`,
      samples: 100,
      notes:
        "Native: the machine's Redis has keyspace notifications off, so writers PUBLISH; the watch holds one subscriber connection.",
      polled: 0,
    },
    {
      title: "http: watch (anystore+http to serve() over memory, another process)",
      http: true,
      samples: 100,
      notes: "Native: server-sent events; idle, the server sends a comment every 15 s on the one open response.",
      polled: 0,
    },
  ];
  try {
    for (const backend of backends) {
      let server;
      let watcher;
      let writer;
      try {
        if (backend.http) server = await startServer();
        const uri = server ? `anystore+${server.url}` : backend.uri;
        watcher = createStore(uri, backend.options);
        writer = createStore(uri, backend.options);
        const native = (await watcher.capabilities()).watch;
        // A polled driver's samples are spread over its whole interval; a native feed's need no long pauses.
        const ms = await latencies(watcher, writer, backend.samples, native ? 250 : 1000);
        const cpu = await idleCpu(watcher);
        const rows = [
          { workload: "watch latency, median", unit: "ms", results: { anystore: quantile(ms, 0.5) } },
          { workload: "watch latency, p99", unit: "ms", results: { anystore: quantile(ms, 0.99) } },
          { workload: "idle watch CPU per minute", unit: "ms", results: { anystore: cpu } },
        ];
        if (backend.polled !== undefined)
          rows.push({
            workload: "idle watch backend requests per minute",
            unit: "req/min",
            results: { anystore: backend.polled },
          });
        const notes = `${native ? "capabilities().watch: true." : "capabilities().watch: false."} ${backend.samples} samples. ${backend.notes ?? ""}`;
        report.table(backend.title, rows, { notes: notes.trim() });
      } catch (error) {
        console.error(`${backend.title} failed: ${error?.stack ?? error}`);
        report.table(backend.title, [], { error: String(error?.message ?? error).split("\n")[0] });
      } finally {
        await watcher?.close();
        await writer?.close();
        server?.stop();
      }
    }
  } finally {
    const pool = new pg.Pool({ connectionString: PG_URL, max: 1 });
    await pool.query(`DROP TABLE IF EXISTS "${table}"`).catch(() => {});
    await pool.end();
    const my = await mysql.createConnection({ uri: MYSQL_URL });
    await my.query(`DROP TABLE IF EXISTS \`${table}\``).catch(() => {});
    await my.end();
    await rm(dir, { recursive: true, force: true });
  }
}
