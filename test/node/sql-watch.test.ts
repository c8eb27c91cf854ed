/**
 * The sql driver's change feed (SPEC 11): PostgreSQL by LISTEN/NOTIFY (anystore writers notify;
 * the README's trigger covers other writers), SQLite files and MariaDB by polling the table.
 * Writers run in other processes.
 */
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { sqlDriver } from "../../src/drivers/node/sql/sql.js";
import { STAGED_CHUNK } from "../../src/drivers/node/sql/staged-write.js";
import { createStore } from "../../src/index.node.js";
import { sleep } from "../shared/contract.js";
import { freePort } from "./redis-server.js";
import { MYSQL_URL, PG_URL, serverTables } from "./sql-tables.js";
import { feed, is, startProcess, writeElsewhere } from "./watch-feed.js";

const SCRATCH = mkdtempSync(join(tmpdir(), "anystore-sql-watch-"));
chmodSync(SCRATCH, 0o755);
const { pgPool, myPool, pgTables, myTables, tableName, dropTables } = serverTables("live");

afterAll(async () => {
  await dropTables();
  rmSync(SCRATCH, { recursive: true, force: true });
});

interface Backend {
  name: string;
  /** A uri and a fresh table on it. */
  fresh(): { uri: string; table: string };
  native: boolean;
}

let files = 0;
const backends: Backend[] = [
  {
    name: "postgresql",
    native: true,
    fresh: () => {
      const table = tableName();
      pgTables.push(table);
      return { uri: PG_URL, table };
    },
  },
  {
    name: "mariadb",
    native: false,
    fresh: () => {
      const table = tableName();
      myTables.push(table);
      return { uri: MYSQL_URL, table };
    },
  },
  {
    name: "sqlite file",
    native: false,
    fresh: () => ({ uri: `sqlite:///${join(SCRATCH, `w${++files}.db`)}`, table: "anystore" }),
  },
];

describe.each(backends)("sql watch: $name", ({ fresh, native }) => {
  it("sees puts and deletes of another process under its prefix only", async () => {
    const { uri, table } = fresh();
    const driver = sqlDriver({ uri, table, watchInterval: 100 });
    expect(driver.capabilities.watch).toBe(native);
    await writeElsewhere(uri, { table }, "put:w/old=1", "put:w/gone=1");
    const watch = await feed(driver, "w/");
    await writeElsewhere(uri, { table }, "put:w/a=1", "put:x/b=2", "putMany:w/m1,w/m2", "put:w/old=2", "delete:w/gone");
    await watch.all(["put w/a", "put w/m1", "put w/m2", "put w/old", "delete w/gone"]);
    await writeElsewhere(uri, { table }, "deleteMany:w/m1,w/a", "put:w/m2=again");
    await watch.all(["delete w/m1", "delete w/a"]);
    await watch.next(is("put w/m2"));
    expect(watch.lines().filter((l) => !l.includes(" w/"))).toEqual([]);
    // One key's events keep the order of its writes.
    expect(watch.lines().indexOf("put w/a")).toBeLessThan(watch.lines().indexOf("delete w/a"));
    watch.stop();
    await driver.close();
  });

  it("store.watch in another process: sees the write, store-relative, then ends and the process exits", async () => {
    const { uri, table } = fresh();
    const watcher = startProcess([uri, JSON.stringify({ table, watchInterval: 100 }), "watchOnce:in"]);
    await watcher.printed("ready");
    await writeElsewhere(uri, { table }, "put:out=1", "put:in/k=1");
    await watcher.printed("put in/k");
    expect(await watcher.exited()).toBe(0);
  });

  it("ends with its signal: no more events after stop", async () => {
    const { uri, table } = fresh();
    const driver = sqlDriver({ uri, table, watchInterval: 100 });
    const watch = await feed(driver);
    await writeElsewhere(uri, { table }, "put:a=1");
    await watch.next(is("put a"));
    watch.stop();
    const seen = watch.events.length;
    await writeElsewhere(uri, { table }, "put:b=1");
    await sleep(500);
    expect(watch.events.length).toBe(seen);
    await driver.close();
  });
});

describe("sql watch: unreachable servers", () => {
  it.each(["postgresql", "mysql"])("%s: the watch fails with ConnectionError", async (scheme) => {
    const port = await freePort();
    const store = createStore(`${scheme}://root@127.0.0.1:${port}/test`, { connectTimeout: 300 });
    await expect(store.watch().next()).rejects.toMatchObject({ code: "CONNECTION" });
    await store.close();
  });
});

describe("sql watch: polled tables", () => {
  it("reports an expiry as a delete (mariadb)", async () => {
    const table = tableName();
    myTables.push(table);
    const driver = sqlDriver({ uri: MYSQL_URL, table, watchInterval: 100 });
    const watch = await feed(driver);
    await myPool.query(
      `INSERT INTO \`${table}\` (\`key\`, \`value\`, \`timestamp\`, \`ttl\`) VALUES ('raw', 'x', UTC_TIMESTAMP(6), 1)`,
    );
    await watch.next(is("put raw"));
    await watch.next(is("delete raw"), 3000);
    watch.stop();
    await driver.close();
  });
});

describe("sql watch: postgresql", () => {
  const listeners = async (table: string) =>
    Number(
      (await pgPool.query("SELECT count(*) FROM pg_stat_activity WHERE query = $1", [`LISTEN "anystore:${table}"`]))
        .rows[0].count,
    );

  it("sees other writers through the README's trigger, and frees its connection when stopped", async () => {
    const table = tableName();
    pgTables.push(table);
    const driver = sqlDriver({ uri: PG_URL, table });
    const watch = await feed(driver, "t/");
    expect(await listeners(table)).toBe(1);
    await pgPool.query(`
      CREATE OR REPLACE FUNCTION anystore_notify() RETURNS trigger AS $$
      BEGIN
        IF TG_OP = 'DELETE' THEN PERFORM pg_notify(TG_ARGV[0], 'd' || OLD."key");
        ELSE PERFORM pg_notify(TG_ARGV[0], 'p' || NEW."key");
        END IF;
        RETURN NULL;
      END $$ LANGUAGE plpgsql`);
    await pgPool.query(
      `CREATE TRIGGER anystore_notify AFTER INSERT OR UPDATE OR DELETE ON "${table}" FOR EACH ROW EXECUTE FUNCTION anystore_notify('anystore:${table}')`,
    );
    await pgPool.query(`INSERT INTO "${table}" ("key", "value") VALUES ('t/raw', 'x'), ('u/raw', 'x')`);
    await pgPool.query(`DELETE FROM "${table}" WHERE "key" = 't/raw'`);
    await watch.next(is("put t/raw"));
    await watch.next(is("delete t/raw"));
    // An anystore write with the trigger installed: one notification (the writer leaves it to the trigger).
    await writeElsewhere(PG_URL, { table }, "put:t/both=1");
    await watch.next(is("put t/both"));
    await sleep(200);
    expect(watch.lines()).toEqual(["put t/raw", "delete t/raw", "put t/both"]);
    watch.stop();
    await pgPool.query(`DROP TRIGGER anystore_notify ON "${table}"`);
    await pgPool.query("DROP FUNCTION IF EXISTS anystore_notify()").catch(() => {}); // unless another table uses it
    for (let i = 0; i < 50 && (await listeners(table)) > 0; i++) await sleep(50);
    expect(await listeners(table)).toBe(0);
    await driver.close();
  });

  it("says resync after its connection was cut and it listens again, then sees events again", async () => {
    const table = tableName();
    pgTables.push(table);
    const driver = sqlDriver({ uri: PG_URL, table });
    const watch = await feed(driver);
    await pgPool.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = $1", [
      `LISTEN "anystore:${table}"`,
    ]);
    await watch.next(is("resync"), 5000);
    await writeElsewhere(PG_URL, { table }, "put:after=1");
    await watch.next(is("put after"));
    watch.stop();
    await driver.close();
  });

  it("sees a streamed write staged in chunks once it committed, and nothing of one that was aborted", async () => {
    const table = tableName();
    pgTables.push(table);
    const driver = sqlDriver({ uri: PG_URL, table });
    const writer = sqlDriver({ uri: PG_URL, table });
    const watch = await feed(driver);
    const aborted = (await writer.write!("s/aborted", {})).getWriter();
    await aborted.write(new Uint8Array(2 * STAGED_CHUNK));
    await aborted.abort(new Error("stop"));
    const w = (await writer.write!("s/big", {})).getWriter();
    await w.write(new Uint8Array(2 * STAGED_CHUNK + 1));
    await w.close();
    await watch.next(is("put s/big"));
    expect(watch.lines()).toEqual(["put s/big"]);
    watch.stop();
    await writer.close();
    await driver.close();
  });
});
