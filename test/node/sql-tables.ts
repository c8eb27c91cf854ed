/**
 * Tables on the local PostgreSQL and MariaDB servers for one test file: stores on fresh tables,
 * raw pools to look at them, and `dropTables` (for afterAll) that drops every table handed out
 * and ends the pools.
 */
import mysql from "mysql2/promise";
import pg from "pg";
import type { StoreOptions } from "../../src/index.node.js";
import { createStore } from "../../src/index.node.js";

export const PG_URL = process.env.PG_URL ?? "postgresql://postgres@127.0.0.1:5432/test";
export const MYSQL_URL = process.env.MYSQL_URL ?? "mysql://root@127.0.0.1:3306/test";

/** `tag` keeps one file's tables apart from another's (names also carry the process id). */
export function serverTables(tag: string) {
  let counter = 0;
  const pgPool = new pg.Pool({ connectionString: PG_URL, max: 2 });
  const myPool = mysql.createPool({ uri: MYSQL_URL, connectionLimit: 2 });
  /** Tables to drop at the end; a test that makes one by hand adds its name. */
  const pgTables: string[] = [];
  const myTables: string[] = [];
  const tableName = () => `anystore_${tag}${process.pid}_${++counter}`;
  return {
    pgPool,
    myPool,
    pgTables,
    myTables,
    tableName,
    pgStore(options?: StoreOptions, table = tableName()) {
      pgTables.push(table);
      return createStore(PG_URL, { ...options, table });
    },
    myStore(options?: StoreOptions, table = tableName()) {
      myTables.push(table);
      return createStore(MYSQL_URL, { ...options, table });
    },
    async dropTables() {
      for (const t of pgTables) await pgPool.query(`DROP TABLE IF EXISTS "${t}"`);
      for (const t of myTables) await myPool.query(`DROP TABLE IF EXISTS \`${t}\``);
      await pgPool.end();
      await myPool.end();
    },
  };
}
