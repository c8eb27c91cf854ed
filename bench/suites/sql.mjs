/**
 * sql: anystore's sql driver vs the raw clients running the same statements on a table of the
 * same schema (Python anystore's: key, value, timestamp, ttl): raw @libsql/client in WAL mode
 * with synchronous=NORMAL on one connection, raw pg, raw mysql2. For SQLite also a raw 2-column
 * key/value table (what the timestamp/ttl columns cost) and keyv's sqlite adapter.
 * Implementations are measured in interleaved rounds (best of each), so a busy machine
 * disturbs them alike. PostgreSQL and MariaDB tables are skipped when unreachable.
 */
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import v8 from "node:v8";
import { runInNewContext } from "node:vm";
import { createClient } from "@libsql/client";
import KeyvSqlite from "@keyv/sqlite";
import Keyv from "keyv";
import mysql from "mysql2/promise";
import pg from "pg";
import { createStore } from "../../dist/index.node.js";
import { opsPerSec, value1k } from "../lib.mjs";

export const title = "sql (SQLite WAL, PostgreSQL, MariaDB)";
const ROOT = join(process.cwd(), "bench/.data/sql");
const PG_URL = process.env.PG_URL ?? "postgresql://postgres@127.0.0.1:5432/test";
const MYSQL_URL = process.env.MYSQL_URL ?? "mysql://root@127.0.0.1:3306/test";
const ROUNDS = 3;
const encoder = new TextEncoder();
const texts = Array.from({ length: 1000 }, (_, i) => value1k(i));
const values = texts.map((t) => encoder.encode(t));
const valueOf = (i) => values[i % values.length];

/**
 * Like `opsPerSec`, but per second of this process's CPU time (all threads). For in-process
 * SQLite (WAL, synchronous=NORMAL: no sync waits) that is the work done, and it holds steady
 * on a shared, busy machine where wall time does not.
 */
async function opsPerCpuSec(fn, { ops, concurrency = 1, warmup = Math.min(200, ops) }) {
  const run = async (n, offset) => {
    let next = 0;
    const worker = async () => {
      while (next < n) await fn(offset + next++);
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
  };
  await run(warmup, 0);
  const before = process.cpuUsage();
  await run(ops, warmup);
  const used = process.cpuUsage(before);
  return ops / ((used.user + used.system) / 1e6);
}

/** Collects garbage between measurements, so no implementation pays for another's. */
v8.setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc");

/**
 * Best figure of each implementation over interleaved rounds (load changes hit all alike),
 * starting each round with a different one.
 */
async function interleaved(impls, op, makeFn, opts, measure) {
  const best = {};
  const entries = Object.entries(impls);
  for (let round = 0; round < ROUNDS; round++) {
    for (let j = 0; j < entries.length; j++) {
      const [name, impl] = entries[(round + j) % entries.length];
      if (!impl[op]) continue;
      gc();
      const o = { ...opts, ops: impl.ops ?? opts.ops };
      best[name] = Math.max(best[name] ?? 0, await measure(makeFn(impl, o.ops), o));
    }
  }
  return best;
}

/** `ops` per measurement; `syncedOps` for sequential puts, which wait for a disk sync on servers. */
async function table(impls, { ops, syncedOps = ops, cpu = false }) {
  const measure = cpu ? opsPerCpuSec : opsPerSec;
  const per = cpu ? "/s (CPU time)" : "/s";
  const rows = [];
  for (const [workload, concurrency, op, n] of [
    ["put 1 KiB, sequential", 1, "put", syncedOps],
    ["get 1 KiB, sequential", 1, "get", ops],
    ["put 1 KiB, 32 in flight", 32, "put", ops],
    ["get 1 KiB, 32 in flight", 32, "get", ops],
  ]) {
    // gets read the keys the sequential puts wrote
    const make = (impl, count) => (i) => impl[op](`k/${i % Math.min(count, syncedOps)}`, valueOf(i), i);
    const results = await interleaved(impls, op, make, { ops: n, concurrency, warmup: Math.min(100, Math.ceil(n / 5)) }, measure);
    rows.push({ workload, unit: `ops${per}`, results });
  }
  const batch = Array.from({ length: 1000 }, (_, i) => [`b/${String(i).padStart(4, "0")}`, valueOf(i)]);
  const many = await interleaved(impls, "putMany", (impl) => () => impl.putMany(batch), { ops: 2, concurrency: 1, warmup: 1 }, measure);
  rows.push({ workload: "putMany 1,000 x 1 KiB", unit: `batches${per}`, results: many });
  for (const impl of Object.values(impls)) if (impl.list) for (let p = 0; p < 10; p++) await impl.putMany(Array.from({ length: 1000 }, (_, i) => [`p${p}/${i}`, values[0]]));
  const list = await interleaved(
    impls,
    "list",
    (impl) => async () => {
      const n = await impl.list("p3/");
      if (n !== 1000) throw new Error(`listed ${n} keys, expected 1000`);
    },
    { ops: 5, concurrency: 1, warmup: 1 },
    measure,
  );
  rows.push({ workload: "list a prefix of 1,000 among 10,000 keys", unit: `lists${per}`, results: list });
  return rows;
}

const countKeys = async (iterable) => {
  let n = 0;
  for await (const _ of iterable) n++;
  return n;
};

function anystoreImpl(store) {
  return {
    put: (k, v) => store.put(k, v),
    get: (k) => store.get(k),
    putMany: (entries) => store.putMany(entries),
    list: (prefix) => countKeys(store.keys({ prefix })),
  };
}

/** The statements the driver runs, for a raw client on a table of the same schema. */
function statements(dialect, t) {
  const q = dialect === "mysql" ? (s) => `\`${s}\`` : (s) => `"${s}"`;
  const [K, V, S, L] = ["key", "value", "timestamp", "ttl"].map(q);
  const p = dialect === "postgres" ? (n) => `$${n}` : () => "?";
  const ahead = {
    sqlite: `julianday(${S}) + ${L} / 86400.0 > julianday('now')`,
    postgres: `${S} + ${L} * interval '1 second' > now()`,
    mysql: `${S} + INTERVAL ${L} SECOND > UTC_TIMESTAMP(6)`,
  }[dialect];
  const alive = `(${L} IS NULL OR ${L} <= 0 OR ${ahead})`;
  const stamp = { sqlite: p(3), postgres: "now()", mysql: "UTC_TIMESTAMP(6)" }[dialect];
  const tail =
    dialect === "mysql"
      ? ` ON DUPLICATE KEY UPDATE ${V} = VALUES(${V}), ${S} = VALUES(${S}), ${L} = VALUES(${L})`
      : ` ON CONFLICT (${K}) DO UPDATE SET ${V} = excluded.${V}, ${S} = excluded.${S}, ${L} = excluded.${L}`;
  // multi-row upserts, as the driver's putMany sends them (servers only: SQLite binds its stamp)
  const rowsOf = (n) => Array.from({ length: n }, (_, i) => `(${p(3 * i + 1)}, ${p(3 * i + 2)}, ${stamp}, ${p(3 * i + 3)})`).join(", ");
  return {
    upsertRows: (n) => `INSERT INTO ${q(t)} (${K}, ${V}, ${S}, ${L}) VALUES ${rowsOf(n)}${tail}`,
    upsert: `INSERT INTO ${q(t)} (${K}, ${V}, ${S}, ${L}) VALUES (${p(1)}, ${p(2)}, ${stamp}, ${dialect === "sqlite" ? p(4) : p(3)})${tail}`,
    get: `SELECT ${V} FROM ${q(t)} WHERE ${K} = ${p(1)} AND ${alive}`,
    list: `SELECT ${K} FROM ${q(t)} WHERE ${K} > ${p(1)} AND ${K} < ${p(2)} AND ${alive} ORDER BY ${K}`,
  };
}

const successor = (prefix) => prefix.slice(0, -1) + "0";
const sqliteNow = () => {
  const iso = new Date().toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}000`;
};

async function sqlite(report) {
  const store = createStore(`sqlite:///${join(ROOT, "anystore.db")}`, { serialization: "raw" });
  // A second store makes the raw table, so its schema is exactly the driver's.
  const maker = createStore(`sqlite:///${join(ROOT, "raw.db")}`);
  await maker.put("schema", 1);
  await maker.close();
  const raw = createClient({ url: `file:${join(ROOT, "raw.db")}`, concurrency: 1 });
  for (const pragma of ["journal_mode = WAL", "synchronous = NORMAL"]) await raw.execute(`PRAGMA ${pragma}`);
  const s = statements("sqlite", "anystore");
  const upsert = (k, v) => ({ sql: s.upsert, args: [k, v, sqliteNow(), null] });
  const rawImpl = {
    put: (k, v) => raw.execute(upsert(k, v)),
    get: async (k) => new Uint8Array((await raw.execute({ sql: s.get, args: [k] })).rows[0][0]),
    putMany: (entries) => raw.batch(entries.map(([k, v]) => upsert(k, v)), "write"),
    list: async (prefix) => (await raw.execute({ sql: s.list, args: [prefix, successor(prefix)] })).rows.length,
  };
  const kv = createClient({ url: `file:${join(ROOT, "kv.db")}`, concurrency: 1 });
  for (const pragma of ["journal_mode = WAL", "synchronous = NORMAL"]) await kv.execute(`PRAGMA ${pragma}`);
  await kv.execute("CREATE TABLE kv (key TEXT PRIMARY KEY, value BLOB)");
  const kvUpsert = "INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value";
  const kvImpl = {
    put: (k, v) => kv.execute({ sql: kvUpsert, args: [k, v] }),
    get: async (k) => new Uint8Array((await kv.execute({ sql: "SELECT value FROM kv WHERE key = ?", args: [k] })).rows[0][0]),
    putMany: (entries) => kv.batch(entries.map(([k, v]) => ({ sql: kvUpsert, args: [k, v] })), "write"),
  };
  // keyv's sqlite adapter: rollback-journal SQLite on the sqlite3 module, strings (its JSON
  // serializer has no bytes type), and fewer ops since it syncs every write.
  const keyv = new Keyv({ store: new KeyvSqlite(`sqlite://${join(ROOT, "keyv.db")}`) });
  const keyvImpl = {
    ops: 100,
    put: (k, _v, i) => keyv.set(k, texts[i % texts.length]),
    get: (k) => keyv.get(k),
    putMany: (entries) => keyv.setMany(entries.map(([key], i) => ({ key, value: texts[i] }))),
  };
  const impls = { anystore: anystoreImpl(store), "raw libsql (WAL), same SQL": rawImpl, "raw libsql, 2-column kv": kvImpl, "keyv sqlite": keyvImpl };
  report.table("SQLite file (WAL, synchronous=NORMAL), per second of CPU time", await table(impls, { ops: 1000, cpu: true }));
  await store.close();
  raw.close();
  kv.close();
  await keyv.disconnect?.();
}

async function postgres(report) {
  const t = `bench_${process.pid}`;
  const rawTable = `bench_raw_${process.pid}`;
  const store = createStore(PG_URL, { serialization: "raw", table: t, connectTimeout: 2000 });
  const maker = createStore(PG_URL, { table: rawTable, connectTimeout: 2000 });
  try {
    await maker.put("schema", 1);
  } catch (error) {
    console.error(`PostgreSQL skipped: ${error.message}`);
    return;
  } finally {
    await maker.close();
  }
  const pool = new pg.Pool({ connectionString: PG_URL, max: 10 });
  const s = statements("postgres", rawTable);
  const rawImpl = {
    put: (k, v) => pool.query(s.upsert, [k, v, null]),
    get: async (k) => (await pool.query({ text: s.get, values: [k], rowMode: "array" })).rows[0][0],
    putMany: async (entries) => {
      const client = await pool.connect();
      try {
        await client.query("BEGIN");
        for (let i = 0; i < entries.length; i += 200) {
          const part = entries.slice(i, i + 200);
          await client.query(s.upsertRows(part.length), part.flatMap(([k, v]) => [k, v, null]));
        }
        await client.query("COMMIT");
      } finally {
        client.release();
      }
    },
    list: async (prefix) => (await pool.query({ text: s.list, values: [prefix, successor(prefix)], rowMode: "array" })).rows.length,
  };
  try {
    report.table("PostgreSQL (pools of 10)", await table({ anystore: anystoreImpl(store), "raw pg, same SQL": rawImpl }, { ops: 1000, syncedOps: 200 }));
  } finally {
    await store.close();
    for (const name of [t, rawTable]) await pool.query(`DROP TABLE IF EXISTS "${name}"`);
    await pool.end();
  }
}

async function mariadb(report) {
  const t = `bench_${process.pid}`;
  const rawTable = `bench_raw_${process.pid}`;
  const store = createStore(MYSQL_URL, { serialization: "raw", table: t, connectTimeout: 2000 });
  const maker = createStore(MYSQL_URL, { table: rawTable, connectTimeout: 2000 });
  try {
    await maker.put("schema", 1);
  } catch (error) {
    console.error(`MariaDB skipped: ${error.message}`);
    return;
  } finally {
    await maker.close();
  }
  const pool = mysql.createPool({ uri: MYSQL_URL, connectionLimit: 10 });
  const s = statements("mysql", rawTable);
  const buf = (v) => Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  const rawImpl = {
    put: (k, v) => pool.execute(s.upsert, [k, buf(v), null]),
    get: async (k) => (await pool.execute({ sql: s.get, rowsAsArray: true }, [k]))[0][0][0],
    putMany: async (entries) => {
      const conn = await pool.getConnection();
      try {
        await conn.beginTransaction();
        for (let i = 0; i < entries.length; i += 200) {
          const part = entries.slice(i, i + 200);
          await conn.execute(s.upsertRows(part.length), part.flatMap(([k, v]) => [k, buf(v), null]));
        }
        await conn.commit();
      } finally {
        conn.release();
      }
    },
    list: async (prefix) => (await pool.execute({ sql: s.list, rowsAsArray: true }, [prefix, successor(prefix)]))[0].length,
  };
  try {
    report.table("MariaDB (pools of 10)", await table({ anystore: anystoreImpl(store), "raw mysql2, same SQL": rawImpl }, { ops: 1000, syncedOps: 200 }));
  } finally {
    await store.close();
    for (const name of [t, rawTable]) await pool.query(`DROP TABLE IF EXISTS \`${name}\``);
    await pool.end();
  }
}

export default async function run(report) {
  await rm(ROOT, { recursive: true, force: true });
  await mkdir(ROOT, { recursive: true });
  try {
    for (const backend of [sqlite, postgres, mariadb]) {
      const started = performance.now();
      await backend(report);
      console.log(`(${backend.name}: ${((performance.now() - started) / 1000).toFixed(1)} s)`);
    }
  } finally {
    await rm(ROOT, { recursive: true, force: true });
  }
}
