/**
 * The SQL driver under pressure: values over a backend's limit, SQLite locks held by other
 * connections, and streamed creates racing on one key.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@libsql/client";
import mysql from "mysql2/promise";
import { afterAll, describe, expect, it } from "vitest";
import { sqlDriver } from "../../src/drivers/node/sql/sql.js";
import { STAGED_CHUNK } from "../../src/drivers/node/sql/staged-write.js";
import { createStore } from "../../src/index.node.js";
import { readAll, rejectsWith, sleep } from "../shared/contract.js";
import { raceStreamedCreates } from "../shared/contract-races.js";
import { MYSQL_URL, PG_URL, serverTables } from "./sql-tables.js";

const SCRATCH = mkdtempSync(join(tmpdir(), "anystore-sql-hardening-"));
let counter = 0;
const sqliteFile = () => join(SCRATCH, `sql-${++counter}.db`);

const { pgPool, myPool, pgTables, myTables, tableName, myStore, dropTables } = serverTables("h");

afterAll(async () => {
  await dropTables();
  rmSync(SCRATCH, { recursive: true, force: true });
});

describe("sql driver: values over the backend's limit", () => {
  it("mariadb: a value just over max_allowed_packet is refused up front, naming the limit; the connection stays usable", async () => {
    const [[row]] = (await myPool.query("SELECT @@max_allowed_packet AS max")) as unknown as [[{ max: number }]];
    const max = Number(row.max);
    const store = myStore();
    await store.put("first", 1); // connected: the store knows the limit
    const over = new Uint8Array(max + 1);
    for (const attempt of [
      () => store.put("big", over),
      () => store.putMany([["big", over]]),
      () => store.put("big", new Blob([over]).stream()),
    ]) {
      const error = (await rejectsWith(attempt, "UNSUPPORTED")) as Error;
      expect(error.message).toContain(`max_allowed_packet is ${max} bytes`);
      expect(error.message).toMatch(/SET GLOBAL max_allowed_packet/);
    }
    expect(await store.exists("big")).toBe(false);
    expect(await store.get("first")).toBe(1);
    // The largest value the store allows goes through (no dropped connection) and reads back.
    const allowed = Number(
      /takes at most (\d+)/.exec(((await rejectsWith(store.put("big", over), "UNSUPPORTED")) as Error).message)![1],
    );
    expect(allowed).toBeGreaterThan(max - 128 * 1024);
    const value = new Uint8Array(allowed).fill(7);
    await store.put("big", value);
    expect(Buffer.from((await store.get("big", { serialization: "raw" } as never)) as Uint8Array).equals(value)).toBe(
      true,
    );
    await store.close();
  }, 60_000);

  it("a streamed value over the limit fails as it passes the limit, without being read to the end", async () => {
    const [[row]] = (await myPool.query("SELECT @@max_allowed_packet AS max")) as unknown as [[{ max: number }]];
    const store = myStore();
    let pulled = 0;
    const chunk = new Uint8Array(1024 * 1024);
    const total = Number(row.max) * 4;
    const source = new ReadableStream<Uint8Array>(
      {
        pull(controller) {
          if (pulled >= total) return controller.close();
          pulled += chunk.length;
          controller.enqueue(chunk);
        },
      },
      { highWaterMark: 0 },
    );
    await rejectsWith(store.put("big", source), "UNSUPPORTED");
    expect(pulled).toBeLessThan(total / 2);
    expect(await store.exists("big")).toBe(false);
    await store.close();
  });
});

describe("sql driver: sqlite locks", () => {
  it("a store waits for another connection's write lock without blocking the event loop, then writes", async () => {
    const file = sqliteFile();
    const raw = createClient({ url: `file:${file}` });
    await raw.execute("PRAGMA journal_mode = WAL");
    await raw.execute('CREATE TABLE "other" ("a" INTEGER)');
    const tx = await raw.transaction("write");
    await tx.execute('INSERT INTO "other" VALUES (1)');
    // Commits on a timer: only runs if the store's wait leaves the event loop free.
    const released = sleep(300).then(() => tx.commit());
    const store = createStore(`sqlite:///${file}`);
    await store.put("after-the-lock", 1);
    await released;
    expect(await store.get("after-the-lock")).toBe(1);
    // And a store already connected waits the same way.
    const again = await raw.transaction("write");
    await again.execute('INSERT INTO "other" VALUES (2)');
    const releasedAgain = sleep(300).then(() => again.commit());
    await store.putMany([
      ["a", 1],
      ["b", 2],
    ]);
    await store.put("c", 3);
    await releasedAgain;
    expect(await store.get("c")).toBe(3);
    raw.close();
    await store.close();
  });
});

describe.each([
  { name: "sqlite", uri: () => `sqlite:///${sqliteFile()}` },
  { name: "postgresql", uri: () => PG_URL, tables: pgTables },
  { name: "mariadb", uri: () => MYSQL_URL, tables: myTables },
])("sql driver on $name: streamed creates", ({ uri, tables }) => {
  it("write() with ifNotExists: one of many racing writers wins, the rest get AlreadyExistsError and change nothing", async () => {
    const table = tableName();
    tables?.push(table);
    const driver = sqlDriver({ uri: uri(), table });
    const stored = await raceStreamedCreates(driver);
    // An existing value is left as it was, and a streamed create over it is refused.
    const late = (await driver.write!("once", { ifNotExists: true })).getWriter();
    await late.write(new TextEncoder().encode("late"));
    await rejectsWith(late.close(), "ALREADY_EXISTS");
    expect(new TextDecoder().decode(await readAll((await driver.read!("once"))!))).toBe(stored);
    await driver.close!();
  });
});

/** Raw SQL for the staged-write tests, per server. */
const stagedBackends = [
  {
    name: "postgresql",
    uri: PG_URL,
    tables: pgTables,
    query: async (sql: string) => (await pgPool.query({ text: sql, rowMode: "array" })).rows as unknown[][],
    q: (name: string) => `"${name}"`,
    hourAgo: "now() - interval '1 hour'",
    age: (table: string) => `SELECT "ttl", extract(epoch from now() - "timestamp") FROM "${table}" WHERE "key" = 'big'`,
  },
  {
    name: "mariadb",
    uri: MYSQL_URL,
    tables: myTables,
    query: async (sql: string) => (await myPool.query({ sql, rowsAsArray: true }))[0] as unknown[][],
    q: (name: string) => `\`${name}\``,
    hourAgo: "UTC_TIMESTAMP(6) - INTERVAL 1 HOUR",
    age: (table: string) =>
      `SELECT \`ttl\`, TIMESTAMPDIFF(SECOND, \`timestamp\`, UTC_TIMESTAMP(6)) FROM \`${table}\` WHERE \`key\` = 'big'`,
  },
];

describe.each(stagedBackends)("sql driver on $name: streamed writes staged in chunks", (backend) => {
  /** A value of several staged chunks, each byte telling its position. */
  const large = (seed: number) => new Uint8Array(2 * STAGED_CHUNK + 11).map((_, i) => (i + seed) % 253);
  const pieces = (value: Uint8Array, step: number) =>
    new ReadableStream<Uint8Array>({
      start(controller) {
        for (let at = 0; at < value.byteLength; at += step) controller.enqueue(value.slice(at, at + step));
        controller.close();
      },
    });
  const equal = (a: Uint8Array | null, b: Uint8Array) => a !== null && Buffer.from(a).equals(b);

  it("assembles the value in order from chunks of any size, with ttl and timestamp as put writes them", async () => {
    const table = tableName();
    backend.tables.push(table);
    const driver = sqlDriver({ uri: backend.uri, table });
    const value = large(1);
    for (const step of [1000, 3 * 1024 * 1024, value.byteLength]) {
      const w = await driver.write!("big", { ttl: 60 });
      await pieces(value, step).pipeTo(w);
      expect(equal(await driver.get("big"), value)).toBe(true);
    }
    const [[ttl, age]] = (await backend.query(backend.age(table))) as [[unknown, unknown]];
    expect(Number(ttl)).toBe(60);
    expect(Math.abs(Number(age))).toBeLessThan(30);
    await driver.close!();
  }, 60_000);

  it("ifNotExists: refused over a live row (which stays), allowed over an expired one", async () => {
    const table = tableName();
    backend.tables.push(table);
    const driver = sqlDriver({ uri: backend.uri, table, sweepInterval: 0 });
    const first = large(2);
    await pieces(first, STAGED_CHUNK).pipeTo(await driver.write!("once", { ifNotExists: true }));
    await rejectsWith(
      pieces(large(3), STAGED_CHUNK).pipeTo(await driver.write!("once", { ifNotExists: true })),
      "ALREADY_EXISTS",
    );
    expect(equal(await driver.get("once"), first)).toBe(true);
    // Expired (its stamp moved back past its ttl): it counts as absent.
    await driver.put("old", new Uint8Array([1]), { ttl: 1 });
    await backend.query(
      `UPDATE ${backend.q(table)} SET ${backend.q("timestamp")} = ${backend.hourAgo} WHERE ${backend.q("key")} = 'old'`,
    );
    const next = large(4);
    await pieces(next, STAGED_CHUNK).pipeTo(await driver.write!("old", { ifNotExists: true }));
    expect(equal(await driver.get("old"), next)).toBe(true);
    await driver.close!();
  }, 60_000);
});

describe("sql driver on mariadb: a staged write that fails", () => {
  it("leaves the old value and no staged chunk on any connection", async () => {
    const table = tableName();
    myTables.push(table);
    // A pool of two that the test owns: afterwards both of its connections are looked at.
    const pool = mysql.createPool({ uri: MYSQL_URL, connectionLimit: 2 });
    const driver = sqlDriver({ client: pool, table });
    try {
      const old = new Uint8Array([1, 2, 3]);
      await driver.put("k", old, {});
      const writer = (await driver.write!("k", {})).getWriter();
      await writer.write(new Uint8Array(2 * STAGED_CHUNK + 5));
      await writer.abort(new Error("stop"));
      expect(await driver.get("k")).toEqual(old);
      const connections = [await pool.getConnection(), await pool.getConnection()];
      let staging = 0; // connections that staged chunks (the write did stage, on one of them)
      for (const c of connections) {
        // A TEMPORARY table is seen only by its own connection: count its rows on each (none: never staged there).
        const counted = await c.query("SELECT COUNT(*) AS n FROM anystore_staged").then(
          ([rows]) => Number((rows as Array<{ n: number }>)[0]!.n),
          (error: { code?: string }) => (error.code === "ER_NO_SUCH_TABLE" ? -1 : Promise.reject(error)),
        );
        expect(counted).toBeLessThanOrEqual(0);
        staging += counted === 0 ? 1 : 0;
        c.release();
      }
      expect(staging).toBe(1);
    } finally {
      await driver.close!();
      await pool.end();
    }
  }, 60_000);
});
