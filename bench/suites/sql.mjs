/**
 * sql: anystore's sql driver vs the raw clients running the same statements on a table of the
 * same schema (Python anystore's: key, value, timestamp, ttl): raw @libsql/client in WAL mode
 * with synchronous=NORMAL on one connection, raw pg, raw mysql2; and keyv's sqlite adapter
 * (@keyv/sqlite on the sqlite3 module: rollback journal, a sync per write). @keyv/postgres and
 * @keyv/mysql are not installed, nor unstorage's db0 (its sql drivers need it).
 * Implementations are measured in interleaved rounds (best of each), so a busy machine
 * disturbs them alike. Figures are wall-clock; SQLite also gets put/get rows per second of this
 * process's CPU time, which hold steady on a shared machine (in-process SQLite with
 * synchronous=NORMAL waits for no disk, so its CPU time is its work). The 256 MiB rows compare
 * with the raw client writing the value whole and reading it as the driver does: whole from
 * SQLite, in 4 MiB substr chunks from PostgreSQL (a bytea read whole arrives as hex text past
 * V8's string limit) and MariaDB (rows must fit max_allowed_packet, which also stops the write). PostgreSQL and MariaDB tables are skipped when unreachable.
 */
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import v8 from "node:v8";
import { runInNewContext } from "node:vm";
import { createClient } from "@libsql/client";
import Keyv from "keyv";
import mysql from "mysql2/promise";
import pg from "pg";
import { createStore } from "../../dist/index.node.js";
import { drain, MiB, sourceStream, value1k, withPeakRss } from "../lib.mjs";

export const title = "sql (SQLite file, PostgreSQL, MariaDB)";
const ROOT = join(process.cwd(), "bench/.data/sql");
const PG_URL = process.env.PG_URL ?? "postgresql://postgres@127.0.0.1:5432/test";
const MYSQL_URL = process.env.MYSQL_URL ?? "mysql://root@127.0.0.1:3306/test";
const ROUNDS = 4;
const LISTED = 100_000;
const BIG = 256 * MiB;
const encoder = new TextEncoder();
const texts = Array.from({ length: 1000 }, (_, i) => value1k(i));
const values = texts.map((t) => encoder.encode(t));
const valueAt = (i) => values[i % values.length];
const tiny = encoder.encode("v");

/** Collects garbage between measurements, so no implementation pays for another's. */
v8.setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc");

/** Runs `fn(i)` `ops` times with `concurrency` in flight (after a warmup); operations per wall second and per CPU second. */
async function measure(fn, { ops, concurrency = 1, warmup = Math.min(100, Math.ceil(ops / 5)) }) {
  const run = async (n, offset) => {
    let next = 0;
    const worker = async () => {
      while (next < n) await fn(offset + next++);
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
  };
  await run(warmup, 0);
  const cpu = process.cpuUsage();
  const started = performance.now();
  await run(ops, warmup);
  const wall = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  return { wall: ops / wall, cpu: ops / ((used.user + used.system) / 1e6) };
}

/**
 * Best figures of each implementation that has `op` over interleaved rounds (load changes hit
 * all alike), each round starting with another one. `impl.ops[op]` overrides the count.
 */
async function interleaved(impls, op, makeFn, opts) {
  const best = { wall: {}, cpu: {} };
  let entries = Object.entries(impls).filter(([, impl]) => impl[op]);
  for (let round = 0; round < ROUNDS; round++) {
    for (let j = 0; j < entries.length; j++) {
      const [name, impl] = entries[(round + j) % entries.length];
      gc();
      const o = { ...opts, ops: impl.ops?.[op] ?? opts.ops };
      try {
        const { wall, cpu } = await measure(makeFn(impl, o.ops, name), o);
        best.wall[name] = Math.max(best.wall[name] ?? 0, wall);
        best.cpu[name] = Math.max(best.cpu[name] ?? 0, cpu);
      } catch (error) {
        // a peer failing one workload leaves it out of that row, not the whole table
        if (name === "anystore") throw error;
        console.log(`(${name} left out of ${op}: ${String(error?.message ?? error).slice(0, 200)})`);
        entries = entries.filter(([other]) => other !== name);
        j--;
      }
    }
  }
  const ordered = (by) => Object.fromEntries(entries.map(([name]) => [name, by[name]]));
  return { wall: ordered(best.wall), cpu: ordered(best.cpu) };
}

/** The rows of one backend. `ops` per measurement; `syncedOps` for sequential puts, which wait for a disk sync on servers. */
async function table(impls, { ops, syncedOps = ops, cpuRows = false }) {
  const rows = [];
  const cpu = [];
  for (const [workload, concurrency, op, n] of [
    ["put 1 KiB, sequential", 1, "put", syncedOps],
    ["get 1 KiB, sequential", 1, "get", ops],
    ["put 1 KiB, 32 in flight", 32, "put", ops],
    ["get 1 KiB, 32 in flight", 32, "get", ops],
  ]) {
    // gets read 100 of the keys every implementation's sequential puts wrote
    const make = (impl) => (i) => impl[op](`k/${i % 100}`, valueAt(i), i);
    const results = await interleaved(impls, op, make, { ops: n, concurrency });
    rows.push({ workload, unit: "ops/s", results: results.wall });
    if (concurrency === 1)
      cpu.push({ workload: `${workload}, per CPU second`, unit: "ops/s (CPU)", results: results.cpu });
  }
  const batch = Array.from({ length: 1000 }, (_, i) => [`k/${String(i).padStart(4, "0")}`, valueAt(i)]);
  const keys = batch.map(([k]) => k);
  const perKey = (r) => Object.fromEntries(Object.entries(r.wall).map(([name, v]) => [name, v * 1000]));
  const batchOpts = { ops: 6, concurrency: 1, warmup: 1 };
  rows.push({
    workload: "putMany 1,000 x 1 KiB",
    unit: "keys/s",
    results: perKey(await interleaved(impls, "putMany", (impl) => () => impl.putMany(batch), batchOpts)),
  });
  const getMany = async (impl, name) => {
    const n = await impl.getMany(keys);
    if (n !== keys.length) throw new Error(`${name}: getMany found ${n} of ${keys.length} keys`);
  };
  rows.push({
    workload: "getMany 1,000 x 1 KiB",
    unit: "keys/s",
    results: perKey(await interleaved(impls, "getMany", (impl, _, name) => () => getMany(impl, name), batchOpts)),
  });
  rows.push(...(await listing(impls)));
  rows.push(...(await bigValue(impls)));
  return cpuRows ? [...rows, ...cpu] : rows;
}

/** 100 prefixes of 1,000 keys per implementation (its own table); lists one prefix. */
async function listing(impls) {
  for (const impl of Object.values(impls)) {
    if (!impl.list) continue;
    for (let p = 0; p < 100; p++)
      await impl.putMany(Array.from({ length: LISTED / 100 }, (_, i) => [`p${p}/${i}`, tiny]));
  }
  const list = async (impl) => {
    const n = await impl.list("p37/");
    if (n !== LISTED / 100) throw new Error(`listed ${n} keys, expected ${LISTED / 100}`);
  };
  const { wall } = await interleaved(impls, "list", (impl) => () => list(impl), { ops: 30, concurrency: 1, warmup: 3 });
  // The whole table: the 100,000 listing keys and what the rows before it wrote (the same for each implementation).
  const listAll = async (impl) => {
    const n = await impl.list("");
    if (n < LISTED) throw new Error(`listed ${n} keys, expected at least ${LISTED}`);
  };
  const all = await interleaved(impls, "list", (impl) => () => listAll(impl), { ops: 2, concurrency: 1, warmup: 1 });
  return [
    { workload: "list a prefix among 100,000 keys", unit: "lists/s", results: wall },
    { workload: "list all 100,000 keys", unit: "lists/s", results: all.wall },
  ];
}

/** One 256 MiB value in and out, where the implementation can hold it: throughput and peak RSS above the start. */
async function bigValue(impls) {
  const rows = { in: {}, out: {}, rss: {} };
  for (const [name, impl] of Object.entries(impls)) {
    if (!impl.bigIn) continue;
    try {
      gc();
      const written = await withPeakRss(() => impl.bigIn("big.bin"));
      gc();
      const read = await withPeakRss(async () => {
        const n = await impl.bigOut("big.bin");
        if (n !== BIG) throw new Error(`read ${n} bytes of ${BIG}`);
      });
      rows.in[name] = BIG / MiB / written.seconds;
      rows.out[name] = BIG / MiB / read.seconds;
      rows.rss[name] = Math.max(written.extraRssMiB, read.extraRssMiB);
    } catch (error) {
      console.log(`(${name}: no 256 MiB value: ${String(error?.message ?? error).slice(0, 200)})`);
    } finally {
      await impl.bigDone?.("big.bin").catch(() => {});
    }
  }
  if (Object.keys(rows.in).length === 0) return [];
  return [
    { workload: "stream 256 MiB in", unit: "MB/s", results: rows.in },
    { workload: "stream 256 MiB out", unit: "MB/s", results: rows.out },
    { workload: "extra RSS, 256 MiB streamed", unit: "MiB", results: rows.rss },
  ];
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
    getMany: async (keys) => (await store.getMany(keys)).size,
    list: (prefix) => countKeys(store.keys({ prefix })),
    // the sql driver stages a written stream in 4 MiB chunks on PostgreSQL and MySQL (gathers it on SQLite) and reads in 4 MiB chunks
    bigIn: (k) => store.put(k, sourceStream(BIG)),
    bigOut: async (k) => drain(await store.open(k)),
    bigDone: (k) => store.delete(k),
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
  const rowsOf = (n) =>
    Array.from({ length: n }, (_, i) => `(${p(3 * i + 1)}, ${p(3 * i + 2)}, ${stamp}, ${p(3 * i + 3)})`).join(", ");
  const list = (n) => Array.from({ length: n }, (_, i) => p(i + 1)).join(", ");
  return {
    upsertRows: (n) => `INSERT INTO ${q(t)} (${K}, ${V}, ${S}, ${L}) VALUES ${rowsOf(n)}${tail}`,
    upsert: `INSERT INTO ${q(t)} (${K}, ${V}, ${S}, ${L}) VALUES (${p(1)}, ${p(2)}, ${stamp}, ${dialect === "sqlite" ? p(4) : p(3)})${tail}`,
    get: `SELECT ${V} FROM ${q(t)} WHERE ${K} = ${p(1)} AND ${alive}`,
    getMany: (n) => `SELECT ${K}, ${V} FROM ${q(t)} WHERE ${K} IN (${list(n)}) AND ${alive}`,
    list: `SELECT ${K} FROM ${q(t)} WHERE ${K} > ${p(1)} AND ${K} < ${p(2)} AND ${alive} ORDER BY ${K}`,
    delete: `DELETE FROM ${q(t)} WHERE ${K} = ${p(1)}`,
    range: `SELECT ${{ sqlite: `substr(${V}, ?, ?)`, postgres: `substring(${V} from $1::int for $2::int)`, mysql: `SUBSTRING(${V}, ?, ?)` }[dialect]} FROM ${q(t)} WHERE ${K} = ${p(3)}`,
  };
}

// The whole table for "": the listed keys (`p0/...`) sort below "~" in every collation used here.
const successor = (prefix) => (prefix === "" ? "~" : `${prefix.slice(0, -1)}0`);
const sqliteNow = () => {
  const iso = new Date().toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}000`;
};
/** The driver's getMany: 500 keys per statement. */
async function inParts(keys, query) {
  let found = 0;
  for (let i = 0; i < keys.length; i += 500) found += await query(keys.slice(i, i + 500));
  return found;
}
/** Reads a value in 4 MiB substr chunks, as the driver does (a 256 MiB bytea read whole as hex text would pass V8's string limit). */
async function readChunks(query) {
  let bytes = 0;
  for (;;) {
    const chunk = await query(bytes + 1, 4 * MiB);
    bytes += chunk.byteLength;
    if (chunk.byteLength < 4 * MiB) return bytes;
  }
}
/** A 256 MiB value whole in memory, for raw clients (none of them streams a column value). */
const bigBytes = () => {
  const bytes = new Uint8Array(BIG);
  for (let i = 0; i < BIG; i += MiB) bytes[i] = i & 255;
  return bytes;
};

/** keyv's sqlite adapter, if its sqlite3 native module loads; else the reason it does not. */
async function loadKeyvSqlite() {
  try {
    return { KeyvSqlite: (await import("@keyv/sqlite")).default };
  } catch (error) {
    return {
      reason: `@keyv/sqlite does not load (its native sqlite3 module: ${String(error?.message ?? error).split("\n")[0]})`,
    };
  }
}

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
    putMany: (entries) =>
      raw.batch(
        entries.map(([k, v]) => upsert(k, v)),
        "write",
      ),
    getMany: (keys) =>
      inParts(keys, async (part) => (await raw.execute({ sql: s.getMany(part.length), args: part })).rows.length),
    list: async (prefix) => (await raw.execute({ sql: s.list, args: [prefix, successor(prefix)] })).rows.length,
    bigIn: (k) => raw.execute(upsert(k, bigBytes())),
    // whole, as the driver reads SQLite (substr loads the whole blob: chunks would cost the square)
    bigOut: async (k) => (await raw.execute({ sql: s.get, args: [k] })).rows[0][0].byteLength,
    bigDone: (k) => raw.execute({ sql: s.delete, args: [k] }),
  };
  const impls = { anystore: anystoreImpl(store), "raw libsql": rawImpl };
  // keyv's sqlite adapter: strings (its JSON serializer has no bytes type), fewer puts since it syncs every write.
  const { KeyvSqlite, reason } = await loadKeyvSqlite();
  let keyv;
  if (KeyvSqlite) {
    keyv = new Keyv({ store: new KeyvSqlite(`sqlite://${join(ROOT, "keyv.db")}`) });
    impls.keyv = {
      ops: { put: 100 },
      put: (k, _v, i) => keyv.set(k, texts[i % texts.length]),
      get: (k) => keyv.get(k),
      putMany: (entries) => keyv.setMany(entries.map(([key], i) => ({ key, value: texts[i] }))),
      getMany: async (keys) => (await keyv.getMany(keys)).filter((v) => v !== undefined).length,
    };
    console.log("(keyv is not in the listing and 256 MiB rows: @keyv/sqlite has no prefix listing and no byte values)");
  } else {
    console.log(`(keyv sqlite unavailable: ${reason})`);
  }
  try {
    report.table("SQLite file (WAL, synchronous=NORMAL)", await table(impls, { ops: 1000, cpuRows: true }));
  } finally {
    await store.close();
    raw.close();
    await keyv?.disconnect?.();
  }
}

/** A store and a raw table of the same schema on a server; undefined when the server is unreachable. */
async function serverTables(url, name) {
  const t = `bench_${process.pid}`;
  const rawTable = `bench_raw_${process.pid}`;
  const store = createStore(url, { serialization: "raw", table: t, connectTimeout: 2000 });
  const maker = createStore(url, { table: rawTable, connectTimeout: 2000 });
  try {
    await maker.put("schema", 1);
    return { store, t, rawTable };
  } catch (error) {
    console.error(`${name} skipped: ${error.message}`);
    await store.close();
    return undefined;
  } finally {
    await maker.close();
  }
}

async function postgres(report) {
  const tables = await serverTables(PG_URL, "PostgreSQL");
  if (!tables) return;
  const { store, t, rawTable } = tables;
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
          await client.query(
            s.upsertRows(part.length),
            part.flatMap(([k, v]) => [k, v, null]),
          );
        }
        await client.query("COMMIT");
      } finally {
        client.release();
      }
    },
    getMany: (keys) =>
      inParts(
        keys,
        async (part) =>
          (await pool.query({ text: s.getMany(part.length), values: part, rowMode: "array" })).rows.length,
      ),
    list: async (prefix) =>
      (await pool.query({ text: s.list, values: [prefix, successor(prefix)], rowMode: "array" })).rows.length,
    bigIn: (k) => pool.query(s.upsert, [k, bigBytes(), null]),
    bigOut: (k) =>
      readChunks(
        async (from, n) => (await pool.query({ text: s.range, values: [from, n, k], rowMode: "array" })).rows[0][0],
      ),
    bigDone: (k) => pool.query(s.delete, [k]),
  };
  try {
    report.table(
      "PostgreSQL (pools of 10)",
      await table({ anystore: anystoreImpl(store), "raw pg": rawImpl }, { ops: 1000, syncedOps: 300 }),
    );
  } finally {
    await store.close();
    for (const name of [t, rawTable]) await pool.query(`DROP TABLE IF EXISTS "${name}"`);
    await pool.end();
  }
}

async function mariadb(report) {
  const tables = await serverTables(MYSQL_URL, "MariaDB");
  if (!tables) return;
  const { store, t, rawTable } = tables;
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
          await conn.execute(
            s.upsertRows(part.length),
            part.flatMap(([k, v]) => [k, buf(v), null]),
          );
        }
        await conn.commit();
      } finally {
        conn.release();
      }
    },
    getMany: (keys) =>
      inParts(
        keys,
        async (part) => (await pool.execute({ sql: s.getMany(part.length), rowsAsArray: true }, part))[0].length,
      ),
    list: async (prefix) =>
      (await pool.execute({ sql: s.list, rowsAsArray: true }, [prefix, successor(prefix)]))[0].length,
    bigIn: (k) => pool.execute(s.upsert, [k, buf(bigBytes()), null]),
    bigOut: (k) =>
      readChunks(async (from, n) => (await pool.execute({ sql: s.range, rowsAsArray: true }, [from, n, k]))[0][0][0]),
    bigDone: (k) => pool.execute(s.delete, [k]),
  };
  try {
    report.table(
      "MariaDB (pools of 10)",
      await table({ anystore: anystoreImpl(store), "raw mysql2": rawImpl }, { ops: 1000, syncedOps: 300 }),
    );
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
