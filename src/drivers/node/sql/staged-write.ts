/**
 * A streamed write into PostgreSQL with bounded client memory. The value cannot be appended to
 * its row in place (each append would rewrite the whole bytea), so it is staged: on a connection
 * of its own, inside one transaction, the chunks go into a temporary table, then one statement
 * joins them server-side (`string_agg ... ORDER BY n`) into the row, with the same upsert (or
 * atomic create) as `put`, and the transaction commits. The client holds one chunk at a time.
 * An abort or an error rolls back: the old value stays and no staged chunk outlives the transaction
 * (`ON COMMIT DELETE ROWS`, and a rollback removes them anyway). A value that ends within the first
 * chunk never opens a transaction: it goes through the ordinary `put`.
 * Runtime-neutral; the SQL is PostgreSQL's.
 */
import { alreadyExists } from "../../../core/already-exists.js";
import type { SqlSession } from "./dialect.js";

/** Bytes per staged chunk: sent as hex text (twice its size), so a few MiB keep each message small. */
export const STAGED_CHUNK = 4 * 1024 * 1024;

/** Private to the session (`pg_temp`), so concurrent writes on other connections never meet. */
const STAGE = "pg_temp.anystore_staged";

/** What the staged writes of one table need from the SQL core. */
export interface StagedTable {
  /** The quoted table name. */
  table: string;
  /** The quoted column list `(key, value, timestamp, ttl)`. */
  columns: string;
  /** The dialect's upsert clause. */
  upsertTail: string;
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

/** The statements of one table's staged writes, built once. */
export function stagedWriter(t: StagedTable): (w: StagedWrite) => WritableStream<Uint8Array> {
  // clock_timestamp(), not now(): now() is when the transaction began, before the value was sent.
  const passed = `"ttl" > 0 AND "timestamp" + "ttl" * interval '1 second' <= clock_timestamp()`;
  const assemble = `INSERT INTO ${t.table} ${t.columns} SELECT $1, COALESCE(string_agg(chunk, ''::bytea ORDER BY n), ''::bytea), clock_timestamp(), $2::int FROM ${STAGE}`;
  const sql = {
    stage: `CREATE TEMP TABLE IF NOT EXISTS anystore_staged (n integer PRIMARY KEY, chunk bytea NOT NULL) ON COMMIT DELETE ROWS`,
    chunk: `INSERT INTO ${STAGE} (n, chunk) VALUES ($1, $2)`,
    upsert: assemble + t.upsertTail,
    // An expired row counts as absent; a live one (or a concurrent create) leaves the insert with no row.
    deleteExpired: `DELETE FROM ${t.table} WHERE "key" = $1 AND ${passed}`,
    create: `${assemble} ON CONFLICT ("key") DO NOTHING`,
  };
  return (w) => stagedWritable(sql, t, w);
}

function stagedWritable(
  sql: Record<"stage" | "chunk" | "upsert" | "deleteExpired" | "create", string>,
  t: StagedTable,
  w: StagedWrite,
): WritableStream<Uint8Array> {
  const buffer = new Uint8Array(STAGED_CHUNK);
  let filled = 0;
  let size = 0;
  let sent = 0;
  let session: SqlSession | undefined;

  const send = async (bytes: Uint8Array) => {
    if (!session) {
      session = await w.session();
      await session.run("BEGIN", []);
      await session.run(sql.stage, []);
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
          const { affected } = await s.run(sql.create, [w.key, w.ttl]);
          if (affected === 0) return failed(alreadyExists(w.key));
        } else {
          await s.run(sql.upsert, [w.key, w.ttl]);
        }
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
