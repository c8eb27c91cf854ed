import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@libsql/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sqlDriver } from "../../src/drivers/node/sql/sql.js";
import type { Store } from "../../src/index.node.js";
import { createStore } from "../../src/index.node.js";
import { collectKeys, contractSuite, readAll, rejectsWith, sleep, utf8 } from "../shared/contract.js";
import type { Server } from "./sql-servers.js";
import { startMariadb, startPostgres } from "./sql-servers.js";
import { serverTables } from "./sql-tables.js";

const TMP = join(process.cwd(), "test/.tmp");
/**
 * Database files and server datadirs live in a private temp dir rather than test/.tmp, which
 * any concurrent vitest run in this checkout wipes in its global setup.
 */
const SCRATCH = mkdtempSync(join(tmpdir(), "anystore-sql-"));
chmodSync(SCRATCH, 0o755); // the PostgreSQL cluster runs as the postgres user
let counter = 0;
const sqliteFile = () => join(SCRATCH, `sql-${++counter}.db`);

/** Stores on fresh tables, raw pools for checking a table by hand, every table dropped at the end. */
const { pgPool, myPool, pgTables, myTables, tableName, pgStore, myStore, dropTables } = serverTables("t");

afterAll(async () => {
  await dropTables();
  rmSync(SCRATCH, { recursive: true, force: true });
});

/** The table of each store made on a server, so that another instance can open it. */
const tableOf = new WeakMap<Store, string>();
const onTable = (store: Store, table: string) => {
  tableOf.set(store, table);
  return store;
};

contractSuite({
  name: "sql: sqlite file",
  make: (options) => createStore(`sqlite:///${sqliteFile()}`, options),
  reopen: (store) => createStore(store.uri),
});
contractSuite({ name: "sql: sqlite :memory:", make: (options) => createStore("sqlite:///:memory:", options) });
contractSuite({
  name: "sql: postgresql",
  make: (options) => onTable(pgStore(options), `${pgTables.at(-1)}`),
  reopen: (store) => createStore(store.uri, { table: tableOf.get(store) }),
});
contractSuite({
  name: "sql: mariadb",
  make: (options) => onTable(myStore(options), `${myTables.at(-1)}`),
  reopen: (store) => createStore(store.uri, { table: tableOf.get(store) }),
});

interface Backend {
  name: string;
  make: (table: string) => Store;
  /** Plain SQL on the same table, with `?` placeholders. */
  query: (table: string, sql: string, params: unknown[]) => Promise<unknown[][]>;
}

const sqliteBackend = (): Backend => {
  const file = sqliteFile();
  let raw: ReturnType<typeof createClient> | undefined;
  return {
    name: "sqlite",
    make: (table) => createStore(`sqlite:///${file}`, { table }),
    query: async (table, sql, params) => {
      raw ??= createClient({ url: `file:${file}` });
      const rs = await raw.execute({ sql: sql.replaceAll("$T", `"${table}"`), args: params as never[] });
      return rs.rows.map((r) => Array.from(r as ArrayLike<unknown>));
    },
  };
};
const backends: Backend[] = [
  sqliteBackend(),
  {
    name: "postgresql",
    make: (table) => pgStore(undefined, table),
    query: async (table, sql, params) => {
      let n = 0;
      const text = sql.replaceAll("$T", `"${table}"`).replace(/\?/g, () => `$${++n}`);
      return (await pgPool.query({ text, values: params, rowMode: "array" })).rows;
    },
  },
  {
    name: "mariadb",
    make: (table) => myStore(undefined, table),
    query: async (table, sql, params) => {
      const [rows] = await myPool.query(
        { sql: sql.replaceAll("$T", `\`${table}\``).replace(/"/g, "`"), rowsAsArray: true },
        params,
      );
      return Array.isArray(rows) ? (rows as unknown[][]) : [];
    },
  },
];

const bytesOf = (value: unknown) => new Uint8Array(value instanceof ArrayBuffer ? value : (value as Uint8Array));

describe.each(backends)("sql driver on $name", (backend) => {
  it("shares Python anystore's table: plain SQL reads what the store wrote, and the store reads plain inserts", async () => {
    const table = tableName();
    const store = backend.make(table);
    await store.put("dir/a.json", { hello: "world" });
    const rows = await backend.query(table, 'SELECT "value", "ttl" FROM $T WHERE "key" = ?', ["dir/a.json"]);
    expect(new TextDecoder().decode(bytesOf(rows[0]![0]))).toBe('{"hello":"world"}');
    expect(rows[0]![1]).toBeNull();
    await backend.query(table, 'INSERT INTO $T ("key", "value") VALUES (?, ?)', [
      "dir/plain.txt",
      Buffer.from("from SQL"),
    ]);
    expect(await store.get("dir/plain.txt")).toBe("from SQL");
    expect(await collectKeys(store.keys({ prefix: "dir" }))).toEqual(["dir/a.json", "dir/plain.txt"]);
    const info = await store.info("dir/plain.txt");
    expect(info.size).toBe(8);
    expect(info.updatedAt).toBeInstanceOf(Date);
    await store.close();
  });

  it("writes timestamp on every write and ttl as integer seconds; sweep removes expired rows", async () => {
    const table = tableName();
    const store = backend.make(table);
    await store.put("short", 1, { ttl: 1 });
    await store.put("kept", 2);
    const [[ttl, stamp]] = (await backend.query(table, 'SELECT "ttl", "timestamp" FROM $T WHERE "key" = ?', [
      "short",
    ])) as [[unknown, unknown]];
    expect(Number(ttl)).toBe(1);
    expect(stamp).not.toBeNull();
    await sleep(1_200);
    expect(await store.exists("short")).toBe(false);
    expect(await store.sweep()).toBe(1);
    expect((await backend.query(table, 'SELECT "key" FROM $T', [])).map((r) => r[0])).toEqual(["kept"]);
    await store.close();
  });

  it("pages through more keys than one page, in prefix bounds, keys of any character", async () => {
    const store = backend.make(tableName());
    const keys = Array.from({ length: 2_345 }, (_, i) => `p/${String(i).padStart(5, "0")}`);
    await store.putMany(keys.map((k) => [k, 1]));
    const odd = ["p0", "p.x", "q/1", "p/é", "p/\u{1F600}", "p/ space", "P/upper", "p/~tilde"];
    for (const k of odd) await store.put(k, 1);
    const listed = await collectKeys(store.keys({ prefix: "p" }));
    expect(listed).toEqual([...keys, "p/é", "p/\u{1F600}", "p/ space", "p/~tilde"].sort());
    expect((await collectKeys(store.keys())).length).toBe(keys.length + odd.length);
    await store.deleteMany(keys);
    expect(await collectKeys(store.keys({ prefix: "p" }))).toEqual(
      ["p/ space", "p/~tilde", "p/é", "p/\u{1F600}"].sort(),
    );
    await store.close();
  });

  it("keys are case-sensitive and trailing spaces count", async () => {
    const store = backend.make(tableName());
    await store.putMany([
      ["Key", 1],
      ["key", 2],
      ["k", 3],
      ["k ", 4],
    ]);
    expect(await store.getMany(["Key", "key", "k", "k "])).toEqual(
      new Map([
        ["Key", 1],
        ["key", 2],
        ["k", 3],
        ["k ", 4],
      ]),
    );
    await store.close();
  });

  it("long keys work up to the backend's index limit, then fail with InvalidKeyError", async () => {
    const store = backend.make(tableName());
    const long = `k/${"é".repeat(700)}`;
    await store.put(long, 1);
    expect(await store.get(long)).toBe(1);
    if (backend.name === "sqlite") {
      const huge = `k/${"x".repeat(100_000)}`;
      await store.put(huge, 2);
      expect(await store.get(huge)).toBe(2);
    } else {
      // random text does not compress below PostgreSQL's ~2.7 kB btree limit; MySQL holds 768 characters
      const huge = `k/${Array.from({ length: 4_000 }, () => Math.random().toString(36).slice(2, 3)).join("")}`;
      await rejectsWith(store.put(huge, 2), "INVALID_KEY");
      await rejectsWith(store.putMany([[huge, 2]]), "INVALID_KEY");
    }
    await store.close();
  });

  it("range reads use substr and clamp like Blob.slice", async () => {
    const store = backend.make(tableName());
    await store.put("bin", utf8("abcdef"));
    const read = async (start?: number, end?: number) =>
      new TextDecoder().decode(
        new Uint8Array(await new Response(await store.open("bin", "r", { start, end })).arrayBuffer()),
      );
    expect(await read(1, 4)).toBe("bcd");
    expect(await read(4)).toBe("ef");
    expect(await read(3, 100)).toBe("def");
    expect(await read(10, 20)).toBe("");
    expect(await read(2, 2)).toBe("");
    await store.close();
  });
});

describe.each(backends)("sql driver on $name: large values", (backend) => {
  const MiB = 1024 * 1024;
  const pattern = (size: number, salt: number) => {
    const bytes = new Uint8Array(size);
    for (let i = 0; i < size; i++) bytes[i] = (i * 7 + salt + (i >> 20)) & 255;
    return bytes;
  };

  it("reads a value larger than one read chunk in chunks, whole and in ranges across chunks", async () => {
    const store = backend.make(tableName());
    const value = pattern(9 * MiB + 123, 1);
    await store.put("big", value);
    // Buffer.equals: a deep toEqual of megabytes takes minutes
    const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
    expect(same(await readAll(await store.open("big")), value)).toBe(true);
    const range = await readAll(await store.open("big", "r", { start: 4 * MiB - 10, end: 8 * MiB + 10 }));
    expect(same(range, value.subarray(4 * MiB - 10, 8 * MiB + 10))).toBe(true);
    await store.close();
  }, 60_000);

  it("get and getMany return a value larger than one read chunk whole; a streamed put stores it", async () => {
    const store = backend.make(tableName());
    const value = pattern(9 * MiB + 123, 3);
    const same = (a: unknown, b: Uint8Array) =>
      a instanceof Uint8Array && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
    // In odd-sized chunks that the caller reuses: the driver must copy each one as it comes.
    const reused = new Uint8Array(100_003);
    let at = 0;
    const source = new ReadableStream<Uint8Array>(
      {
        pull(controller) {
          if (at >= value.length) return controller.close();
          const part = value.subarray(at, at + reused.length);
          reused.set(part);
          controller.enqueue(reused.subarray(0, part.length));
          at += part.length;
        },
      },
      { highWaterMark: 0 },
    );
    await store.put("big", source);
    expect(same(await store.get("big", { serialization: "raw" } as never), value)).toBe(true);
    await store.put("small", utf8("s"));
    const many = await store.getMany(["big", "small", "missing"], { serialization: "raw" } as never);
    expect(same(many.get("big"), value)).toBe(true);
    expect(same(many.get("small"), utf8("s"))).toBe(true);
    expect(many.has("missing")).toBe(false);
    await store.close();
  }, 60_000);

  it("a value replaced while it is read never yields a mix of two values", async () => {
    const store = backend.make(tableName());
    const old = pattern(13 * MiB, 1);
    await store.put("big", old);
    const reader = (await store.open("big")).getReader();
    const chunks = [(await reader.read()).value!];
    await sleep(5); // a later timestamp, even at millisecond resolution
    await store.put("big", pattern(13 * MiB, 2));
    const rest = async () => {
      for (let r = await reader.read(); !r.done; r = await reader.read()) chunks.push(r.value);
    };
    if (backend.name === "sqlite") {
      // SQLite reads a value in one statement: the reader holds the old value whole
      await rest();
      expect(Buffer.concat(chunks).equals(old)).toBe(true);
    } else {
      // 4 MiB statements, each checked against the size and stamp of the first
      await rejectsWith(rest, "IO");
    }
    await store.close();
  }, 60_000);
});

describe("sql driver: sqlite specifics", () => {
  it("Python's plain SQL on the default table `anystore` reads what the store wrote, and the store reads what it wrote", async () => {
    const file = sqliteFile();
    const store = createStore(`sqlite:///${file}`);
    await store.put("doc.txt", "written by the driver");
    const raw = createClient({ url: `file:${file}` });
    const found = await raw.execute({ sql: "SELECT value FROM anystore WHERE key = ?", args: ["doc.txt"] });
    expect(new TextDecoder().decode(bytesOf(found.rows[0]![0]))).toBe("written by the driver");
    await raw.execute({
      sql: "INSERT INTO anystore (key, value) VALUES (?, ?)",
      args: ["plain.txt", new TextEncoder().encode("written by SQL")],
    });
    expect(await store.get("plain.txt")).toBe("written by SQL");
    raw.close();
    await store.close();
  });

  it("files are in WAL mode; relative and absolute uris", async () => {
    const file = sqliteFile();
    const store = createStore(`sqlite:///${file}`);
    await store.put("x", 1);
    const raw = createClient({ url: `file:${file}` });
    expect((await raw.execute("PRAGMA journal_mode")).rows[0]![0]).toBe("wal");
    raw.close();
    await store.close();
    const relative = createStore(`sqlite:///test/.tmp/rel-${process.pid}/r.db`);
    await relative.put("y", 2);
    await relative.close();
    expect(await createStore(`sqlite:///${join(TMP, `rel-${process.pid}/r.db`)}`).get("y")).toBe(2);
  });

  it("accepts an existing libsql client, and never closes it", async () => {
    const client = createClient({ url: ":memory:" });
    const store = createStore({ driver: sqlDriver({ client, table: "mine" }) });
    await store.put("a", 1);
    await store.close();
    expect((await client.execute('SELECT "key" FROM "mine"')).rows.map((r) => r[0])).toEqual(["a"]);
    client.close();
  });

  it("rejects a bad table name", () => {
    expect(() => sqlDriver({ uri: "sqlite:///:memory:", table: "x; DROP TABLE y" })).toThrow(/table/);
  });
});

describe("sql driver: existing pg and mysql2 pools", () => {
  it("uses them and leaves them open", async () => {
    const table = tableName();
    pgTables.push(table);
    const store = createStore({ driver: sqlDriver({ client: pgPool, table }) });
    await store.putMany([
      ["a", 1],
      ["b", 2],
    ]);
    await store.close();
    expect((await pgPool.query(`SELECT count(*)::int AS n FROM "${table}"`)).rows[0].n).toBe(2);
    const mytable = tableName();
    myTables.push(mytable);
    const mystore = createStore({ driver: sqlDriver({ client: myPool, table: mytable }) });
    await mystore.put("a", 1);
    await mystore.close();
    expect(((await myPool.query(`SELECT COUNT(*) AS n FROM \`${mytable}\``))[0] as Array<{ n: number }>)[0]!.n).toBe(1);
  });
});

describe.each([
  ["postgresql", startPostgres],
  ["mariadb", startMariadb],
] as const)("sql driver: %s going away and coming back", (name, start) => {
  let server: Server;
  beforeAll(async () => {
    server = await start(join(SCRATCH, name));
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
  });

  it("rejects with ConnectionError while the server is down, then the same store works again", async () => {
    const store = createStore(server.url, { connectTimeout: 1_000, queryTimeout: 5_000 });
    await store.put("before", "up");
    await server.stop();
    await rejectsWith(store.get("before"), "CONNECTION");
    await rejectsWith(store.put("during", 1), "CONNECTION");
    await rejectsWith(collectKeys(store.keys()), "CONNECTION");
    await server.start();
    expect(await store.get("before")).toBe("up");
    await store.put("after", 2);
    expect(await collectKeys(store.keys())).toEqual(["after", "before"]);
    await store.close();
  }, 60_000);

  it("a store created while the server is down connects once it is up", async () => {
    await server.stop();
    const store = createStore(server.url, { connectTimeout: 1_000, table: "late" });
    await rejectsWith(store.put("k", 1), "CONNECTION");
    await server.start();
    await store.put("k", 1);
    expect(await store.get("k")).toBe(1);
    await store.close();
  }, 60_000);
});
