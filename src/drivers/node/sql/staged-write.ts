/**
 * A streamed write into PostgreSQL or MySQL with bounded client memory. The value cannot be
 * appended to its row in place (each append would rewrite the whole blob), so it is staged: on a
 * connection of its own, inside one transaction, the chunks go into a temporary table, then one
 * statement joins them server-side (`string_agg` / `GROUP_CONCAT ... ORDER BY n`) into the row,
 * with the same upsert (or atomic create) as `put`, and the transaction commits. The client holds
 * one chunk at a time. An abort or an error rolls back: the old value stays and no staged chunk
 * outlives the transaction. A value that ends within the first chunk never opens a transaction: it
 * goes through the ordinary `put`. SQLite stages nothing (libsql binds a blob whole, and joining
 * chunks would hold the value in SQLite's memory instead). Runtime-neutral.
 */
import { alreadyExists } from "../../../core/already-exists.js";
import type { Dialect, SqlSession } from "./dialect.js";

/** Bytes per staged chunk: PostgreSQL sends it as hex text (twice its size), so a few MiB keep each message small. */
export const STAGED_CHUNK = 4 * 1024 * 1024;

/** How a database stages chunks in a table private to the session, and joins them in order. */
interface Staging {
  /** Run before the transaction: the staging table exists (and is empty). */
  setup: string[];
  chunk: string;
  /** The value joined from the chunks, in order, as SQL. */
  joined: string;
  /** The time written to `timestamp` (when the row is written, not when the transaction began). */
  stamp: string;
  /** The row's expiry has passed, at that time. */
  passed: string;
  /** The `ttl` parameter (typed where an INSERT ... SELECT cannot infer it). */
  ttl: string;
  /** Appended to the insert of an atomic create; none where a duplicate key fails the insert. */
  createTail: string;
  /** Run before COMMIT, where the staging table does not empty itself on commit. */
  clear?: string;
}

const STAGING: Record<"postgres" | "mysql", Staging> = {
  postgres: {
    // pg_temp: private to the session, so writes on other connections never meet.
    setup: [
      "CREATE TEMP TABLE IF NOT EXISTS anystore_staged (n integer PRIMARY KEY, chunk bytea NOT NULL) ON COMMIT DELETE ROWS",
    ],
    chunk: "INSERT INTO pg_temp.anystore_staged (n, chunk) VALUES ($1, $2)",
    joined: "(SELECT COALESCE(string_agg(chunk, ''::bytea ORDER BY n), ''::bytea) FROM pg_temp.anystore_staged)",
    // clock_timestamp(), not now(): now() is when the transaction began, before the value was sent.
    stamp: "clock_timestamp()",
    passed: `"ttl" > 0 AND "timestamp" + "ttl" * interval '1 second' <= clock_timestamp()`,
    ttl: "$2::int",
    createTail: ` ON CONFLICT ("key") DO NOTHING`,
  },
  mysql: {
    // A TEMPORARY table is private to the connection; InnoDB rolls its rows back with the transaction.
    // GROUP_CONCAT stops at group_concat_max_len: raised to the most a value may be anyway.
    setup: [
      "CREATE TEMPORARY TABLE IF NOT EXISTS anystore_staged (n INT PRIMARY KEY, chunk LONGBLOB NOT NULL) ENGINE=InnoDB",
      "DELETE FROM anystore_staged",
      "SET SESSION group_concat_max_len = @@max_allowed_packet",
    ],
    chunk: "INSERT INTO anystore_staged (n, chunk) VALUES (?, ?)",
    joined: "(SELECT COALESCE(GROUP_CONCAT(chunk ORDER BY n SEPARATOR ''), '') FROM anystore_staged)",
    stamp: "UTC_TIMESTAMP(6)",
    passed: "`ttl` > 0 AND `timestamp` + INTERVAL `ttl` SECOND <= UTC_TIMESTAMP(6)",
    ttl: "?",
    createTail: "",
    clear: "DELETE FROM anystore_staged",
  },
};

/** What the staged writes of one table need from the SQL core. */
export interface StagedTable {
  dialect: Pick<Dialect, "name" | "upsertTail" | "isUniqueViolation">;
  /** The quoted table name. */
  table: string;
  /** The quoted column list `(key, value, timestamp, ttl)`, and the key column. */
  columns: string;
  keyColumn: string;
  /** Maps a client error to the store's typed errors. */
  fail: (error: unknown, key: string) => Error;
  /** After a streamed write committed (notifications, sweeps). */
  committed: (key: string) => void;
}

/** One streamed write: where it goes, its limits, and the ordinary put for a value that fits one chunk. */
export interface StagedWrite {
  key: string;
  ttl: number | null;
  ifNotExists: boolean;
  max: number;
  tooLarge: (size: number) => Error;
  session: () => Promise<SqlSession>;
  put: (bytes: Uint8Array) => Promise<void>;
}

type StagedSql = Staging & { upsert: string; create: string; deleteExpired: string };

/** The statements of one table's staged writes, built once; none where the database stages nothing (SQLite). */
export function stagedWriter(t: StagedTable): ((w: StagedWrite) => WritableStream<Uint8Array>) | undefined {
  const { name, upsertTail } = t.dialect;
  if (name === "sqlite") return undefined;
  const staging = STAGING[name];
  const P1 = name === "postgres" ? "$1" : "?";
  // The value as a scalar subquery of the joined chunks: one row, whatever the number of chunks.
  const assemble = `INSERT INTO ${t.table} ${t.columns} SELECT ${P1}, ${staging.joined}, ${staging.stamp}, ${staging.ttl}`;
  const sql: StagedSql = {
    ...staging,
    upsert: assemble + upsertTail,
    // An expired row counts as absent; a live one (or a concurrent create) leaves the insert with no row.
    deleteExpired: `DELETE FROM ${t.table} WHERE ${t.keyColumn} = ${P1} AND ${staging.passed}`,
    create: assemble + staging.createTail,
  };
  return (w) => stagedWritable(sql, t, w);
}

function stagedWritable(sql: StagedSql, t: StagedTable, w: StagedWrite): WritableStream<Uint8Array> {
  const buffer = new Uint8Array(STAGED_CHUNK);
  let filled = 0;
  let size = 0;
  let sent = 0;
  let session: SqlSession | undefined;

  const send = async (bytes: Uint8Array) => {
    if (!session) {
      session = await w.session();
      for (const statement of sql.setup) await session.run(statement, []);
      await session.run("BEGIN", []);
    }
    await session.run(sql.chunk, [sent++, bytes]);
  };
  /** Ends the transaction either way and gives the connection back (dropped if that failed). */
  const finish = async (how: "COMMIT" | "ROLLBACK") => {
    const s = session;
    session = undefined;
    if (!s) return;
    let broken = true;
    try {
      await s.run(how, []);
      broken = false;
    } finally {
      s.release(broken);
    }
  };
  const failed = async (error: unknown): Promise<never> => {
    await finish("ROLLBACK").catch(() => undefined);
    throw t.fail(error, w.key);
  };

  return new WritableStream<Uint8Array>({
    async write(chunk) {
      size += chunk.byteLength;
      if (size > w.max) return failed(w.tooLarge(size));
      try {
        for (let at = 0; at < chunk.byteLength; ) {
          if (filled === 0 && chunk.byteLength - at >= STAGED_CHUNK) {
            // A whole chunk's worth in the caller's bytes: sent as it is, not copied.
            await send(chunk.subarray(at, at + STAGED_CHUNK));
            at += STAGED_CHUNK;
            continue;
          }
          const part = chunk.subarray(at, at + STAGED_CHUNK - filled);
          buffer.set(part, filled);
          filled += part.byteLength;
          at += part.byteLength;
          if (filled === STAGED_CHUNK) {
            await send(buffer);
            filled = 0;
          }
        }
      } catch (error) {
        return failed(error);
      }
    },
    async close() {
      if (!session && sent === 0) return w.put(buffer.slice(0, filled));
      try {
        if (filled > 0) await send(buffer.subarray(0, filled));
        const s = session!;
        if (w.ifNotExists) {
          await s.run(sql.deleteExpired, [w.key]);
          const created = await s.run(sql.create, [w.key, w.ttl]).then(
            ({ affected }) => affected > 0,
            (error: unknown) => (t.dialect.isUniqueViolation(error) ? false : Promise.reject(error)),
          );
          if (!created) return failed(alreadyExists(w.key));
        } else {
          await s.run(sql.upsert, [w.key, w.ttl]);
        }
        if (sql.clear) await s.run(sql.clear, []);
        await finish("COMMIT");
      } catch (error) {
        return failed(error);
      }
      t.committed(w.key);
    },
    async abort() {
      await finish("ROLLBACK").catch(() => undefined);
    },
  });
}
