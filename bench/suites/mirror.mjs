/**
 * mirror: a directory of 10,000 files of 1 KiB copied into each local backend (memory, fs,
 * SQLite, PostgreSQL, MariaDB, Redis) with 16 copies in flight: anystore's `mirror` (list,
 * skip-check, stream each value) against a hand-written raw loop with the backend's client, and
 * unstorage / keyv doing the same copy where they have the backend. (s3, zip and http mirror in
 * their own suites.) A backend that is unreachable gets a "failed" table; the others go on.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import KeyvRedis from "@keyv/redis";
import { createClient } from "@libsql/client";
import Redis from "ioredis";
import Keyv from "keyv";
import mysql from "mysql2/promise";
import pg from "pg";
import { createStorage } from "unstorage";
import unstorageFs from "unstorage/drivers/fs";
import unstorageMemory from "unstorage/drivers/memory";
import unstorageRedis from "unstorage/drivers/redis";
import { createStore, mirror } from "../../dist/index.node.js";
import * as lib from "../lib.mjs";

export const title = "mirror: 10,000 files of 1 KiB into each local backend, 16 in flight";
const DB = 12;
const RUN = `bench-mirror-${process.pid}-${Date.now().toString(36)}`;
const PG_URL = process.env.PG_URL ?? "postgresql://postgres@127.0.0.1:5432/test";
const MYSQL_URL = process.env.MYSQL_URL ?? "mysql://root@127.0.0.1:3306/test";
const TABLE = `bench_mirror_${process.pid}`;

/** The raw loop: read each file, hand its bytes to `write(key, bytes)`, 16 in flight. */
const rawCopy = (fixture, write) => async () => {
  await lib.pool(
    fixture.files,
    async (file) => write(file, await readFile(join(fixture.dir, file))),
    lib.MIRROR_IN_FLIGHT,
  );
  return fixture.files.length;
};

/** unstorage: list the source, getItemRaw/setItemRaw each key, 16 in flight. */
const unstorageCopy = (from, to) => async () => {
  const keys = await from.getKeys();
  await lib.pool(keys, async (key) => to.setItemRaw(key, await from.getItemRaw(key)), lib.MIRROR_IN_FLIGHT);
  return keys.length;
};

const anystoreMirror = (fixture, target) => () => lib.mirrorWithin(mirror, createStore(fixture.dir), target);

/** The targets: each returns { impls, cleanup }. */
const TARGETS = {
  memory: async (fixture) => {
    const map = new Map();
    return {
      impls: {
        anystore: anystoreMirror(fixture, createStore("memory://")),
        "raw Map": rawCopy(fixture, async (k, v) => void map.set(k, v)),
        unstorage: unstorageCopy(fixture.unstorage, createStorage({ driver: unstorageMemory() })),
      },
    };
  },
  fs: async (fixture) => ({
    impls: {
      anystore: anystoreMirror(fixture, createStore(join(fixture.root, "a"))),
      "raw node:fs": rawCopy(fixture, async (k, v) => {
        const target = join(fixture.root, "raw", k);
        await mkdir(dirname(target), { recursive: true });
        await writeFile(target, v);
      }),
      unstorage: unstorageCopy(
        fixture.unstorage,
        createStorage({ driver: unstorageFs({ base: join(fixture.root, "u") }) }),
      ),
    },
  }),
  sqlite: async (fixture) => {
    const raw = createClient({ url: `file:${join(fixture.root, "raw.db")}`, concurrency: 1 });
    for (const pragma of ["journal_mode = WAL", "synchronous = NORMAL"]) await raw.execute(`PRAGMA ${pragma}`);
    await raw.execute("CREATE TABLE kv (key TEXT PRIMARY KEY, value BLOB)");
    const upsert = "INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value";
    const target = createStore(`sqlite:///${join(fixture.root, "anystore.db")}`);
    return {
      impls: {
        anystore: anystoreMirror(fixture, target),
        "raw libsql (WAL)": rawCopy(fixture, (k, v) => raw.execute({ sql: upsert, args: [k, v] })),
      },
      cleanup: async () => {
        raw.close();
        await target.close();
      },
      note: "keyv's sqlite adapter is left out: it syncs every write (10,000 of them take minutes).",
    };
  },
  postgres: async (fixture) => {
    const target = createStore(PG_URL, { table: `${TABLE}_a`, connectTimeout: 2000 });
    await target.put("probe", 1); // fails fast when the server is down
    await target.delete("probe");
    const pool = new pg.Pool({ connectionString: PG_URL, max: 10 });
    await pool.query(`CREATE TABLE ${TABLE}_raw (key TEXT PRIMARY KEY, value BYTEA)`);
    const upsert = `INSERT INTO ${TABLE}_raw (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value`;
    return {
      impls: {
        anystore: anystoreMirror(fixture, target),
        "raw pg (pool of 10)": rawCopy(fixture, (k, v) => pool.query(upsert, [k, v])),
      },
      cleanup: async () => {
        await target.close();
        for (const t of [`${TABLE}_a`, `${TABLE}_raw`]) await pool.query(`DROP TABLE IF EXISTS ${t}`);
        await pool.end();
      },
    };
  },
  mysql: async (fixture) => {
    const target = createStore(MYSQL_URL, { table: `${TABLE}_a`, connectTimeout: 2000 });
    await target.put("probe", 1);
    await target.delete("probe");
    const pool = mysql.createPool({ uri: MYSQL_URL, connectionLimit: 10 });
    await pool.query(`CREATE TABLE ${TABLE}_raw (\`key\` VARCHAR(255) PRIMARY KEY, value LONGBLOB)`);
    const upsert = `INSERT INTO ${TABLE}_raw (\`key\`, value) VALUES (?, ?) ON DUPLICATE KEY UPDATE value = VALUES(value)`;
    return {
      impls: {
        anystore: anystoreMirror(fixture, target),
        "raw mysql2 (pool of 10)": rawCopy(fixture, (k, v) => pool.execute(upsert, [k, v])),
      },
      cleanup: async () => {
        await target.close();
        for (const t of [`${TABLE}_a`, `${TABLE}_raw`]) await pool.query(`DROP TABLE IF EXISTS ${t}`);
        await pool.end();
      },
    };
  },
  redis: async (fixture) => {
    const raw = new Redis({ db: DB, lazyConnect: true, maxRetriesPerRequest: 1 });
    await raw.connect();
    const target = createStore(`redis://127.0.0.1:6379/${DB}/${RUN}/a`);
    const storage = createStorage({ driver: unstorageRedis({ db: DB, base: `${RUN}u` }) });
    const keyv = new Keyv({ store: new KeyvRedis(`redis://127.0.0.1:6379/${DB}`), namespace: `${RUN}k` });
    return {
      impls: {
        anystore: anystoreMirror(fixture, target),
        "raw ioredis": rawCopy(fixture, (k, v) => raw.set(`${RUN}/raw/${k}`, v)),
        unstorage: unstorageCopy(fixture.unstorage, storage),
        keyv: rawCopy(fixture, (k, v) => keyv.set(k, v.toString("utf8"))),
      },
      cleanup: async () => {
        await Promise.all([target.close(), storage.dispose(), keyv.disconnect()]);
        await deleteRedisKeys(raw);
        raw.disconnect();
      },
    };
  },
};

/** SCAN + UNLINK every key of this run (values, and anystore's and keyv's side keys). */
async function deleteRedisKeys(redis) {
  for (const pattern of [`*${RUN}*`]) {
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 1000);
      cursor = next;
      if (keys.length > 0) await redis.unlink(keys);
    } while (cursor !== "0");
  }
}

export default async function run(report) {
  const fixture = await lib.mirrorFixture(); // read-only: one source for every target
  fixture.unstorage = createStorage({ driver: unstorageFs({ base: fixture.dir }) });
  try {
    for (const [driver, setup] of Object.entries(TARGETS)) await copyInto(report, driver, setup, fixture);
  } finally {
    await fixture.remove();
  }
}

/** One target: its table, or a "failed" table when its backend is unreachable. */
async function copyInto(report, driver, setup, fixture) {
  const tableTitle = `${driver}: mirror from a directory`;
  let target;
  try {
    target = await setup(fixture);
    const row = await lib.timed(driver, () => lib.mirrorRow(target.impls));
    if (target.note) row.note = [row.note, target.note].filter(Boolean).join(" ");
    report.table(tableTitle, [row], { driver });
  } catch (error) {
    const reason = String(error?.message ?? error).split("\n")[0];
    console.error(`  ${driver} failed: ${reason}`);
    report.table(tableTitle, [], { driver, error: reason });
  } finally {
    await target?.cleanup?.().catch((error) => console.error(`  ${driver} cleanup: ${error.message}`));
  }
}
