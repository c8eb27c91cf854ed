/**
 * PostgreSQL through `pg` (imported lazily). A `pg.Pool` reconnects by itself after an
 * outage; its idle clients' errors are absorbed so a server restart never crashes the process.
 */

import { importPeer } from "../peer.js";
import type { Dialect, SqlConnection, SqlResult, SqlSession, Statement } from "./dialect.js";
import { SOCKET_ERRORS } from "./dialect.js";
import { pgListen } from "./pg-listen.js";

interface PgResult {
  rows: unknown[][];
  rowCount: number | null;
}
interface PgQueryable {
  query(config: { text: string; values: unknown[]; rowMode: "array" }): Promise<PgResult>;
}
/** A `pg.Pool` or `pg.Client` (the parts used here). */
export interface PgClientLike extends PgQueryable {
  connect(): Promise<unknown>;
  end(): Promise<void>;
  on?(event: "error", listener: (error: unknown) => void): unknown;
}
interface PgPoolClient extends PgQueryable {
  release(destroy?: boolean | Error): void;
}

export interface PostgresTarget {
  /** A `postgres://` or `postgresql://` connection string. */
  url?: string;
  client?: PgClientLike;
  connectTimeout: number;
  queryTimeout: number;
  poolSize: number;
}

const NETWORK = new Set<string>(SOCKET_ERRORS);
/** SQLSTATEs that mean the server is not there (class 08) or going away / starting up. */
const GONE = /^(08...|57P0[1-4]|53300)$/;
const GONE_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|Query read timeout|not queryable|connection error|Client was closed/i;

function isConnectionError(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown } | null;
  if (!e || typeof e !== "object") return false;
  if (typeof e.code === "string" && (NETWORK.has(e.code) || GONE.test(e.code))) return true;
  return typeof e.message === "string" && GONE_MESSAGES.test(e.message);
}

const codeOf = (error: unknown) => String((error as { code?: unknown } | null)?.code ?? "");

/** A bytea value, and a protocol message, hold at most 1 GB. */
const POSTGRES_LIMIT = {
  bytes: 2 ** 30 - 1,
  advice: "PostgreSQL holds at most 1 GB in a bytea value and in one message; keep larger values in files or S3",
};

/** The PostgreSQL dialect; `keyCompare` switches to `COLLATE "C"` for tables whose key sorts by locale. */
export function postgresDialect(target: PostgresTarget): Dialect {
  const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;
  let bytewise = true;
  return {
    name: "postgres",
    quote,
    param: (n) => `$${n}`,
    stamp: "now()",
    // bytea arrives as hex text, twice its size, and V8 strings end at 512 MiB: read 4 MiB at a time
    readChunk: 4 * 1024 * 1024,
    ahead: `"timestamp" + "ttl" * interval '1 second' > now()`,
    passed: `"timestamp" + "ttl" * interval '1 second' <= now()`,
    size: `octet_length("value")`,
    epochMs: `(extract(epoch from "timestamp") * 1000)::float8`,
    substr: (from, len) => `substring("value" from ${from}::int for ${len}::int)`,
    keyCompare: () => (bytewise ? `"key"` : `("key" COLLATE "C")`),
    upsertTail: ` ON CONFLICT ("key") DO UPDATE SET "value" = excluded."value", "timestamp" = excluded."timestamp", "ttl" = excluded."ttl"`,
    // The outer WHERE repeats `expired`: a row rewritten meanwhile is re-checked and kept.
    sweep: (table, expired, limit) =>
      `DELETE FROM ${table} WHERE "key" IN (SELECT "key" FROM ${table} WHERE ${expired} LIMIT ${limit}) AND ${expired}`,
    isUniqueViolation: (error) => codeOf(error) === "23505",
    isConnectionError,
    // "index row size ... exceeds btree maximum": keys above ~2.7 kB (after compression).
    isKeyTooLong: (error) => codeOf(error) === "54000" && /index row/i.test(String((error as Error).message)),
    valueLimit: () => POSTGRES_LIMIT,
    isRetryable: (error) => codeOf(error) === "40P01" || codeOf(error) === "40001",
    listen: (channel, deliver, gap, signal) =>
      pgListen(
        { url: target.url, client: target.client, connectTimeout: target.connectTimeout },
        channel,
        deliver,
        gap,
        signal,
      ),
    connect: async (table) => {
      const conn = await connectPostgres(target);
      try {
        bytewise = await prepareTable(conn, table, quote);
      } catch (error) {
        await conn.close().catch(() => {});
        throw error;
      }
      return conn;
    },
  };
}

async function connectPostgres(target: PostgresTarget): Promise<SqlConnection> {
  let client = target.client;
  const own = client === undefined;
  if (!client) {
    const pg = (await importPeer(() => import("pg"), "pg", "postgresql:// stores", "the PostgreSQL client")).default;
    client = new pg.Pool({
      connectionString: target.url,
      connectionTimeoutMillis: target.connectTimeout,
      query_timeout: target.queryTimeout || undefined,
      max: target.poolSize,
      keepAlive: true,
      // Idle clients are closed after a while, so a long-lived store holds few connections.
      idleTimeoutMillis: 30_000,
      allowExitOnIdle: true,
    }) as unknown as PgClientLike;
    // An idle client that loses its server emits "error" on the pool; the pool drops it already.
    client.on?.("error", () => {});
  }
  const c = client;
  const isPool = "totalCount" in c;
  const query = (on: PgQueryable, text: string, values: unknown[]): Promise<SqlResult> =>
    on.query({ text, values, rowMode: "array" }).then((r) => ({ rows: r.rows, affected: r.rowCount ?? 0 }));

  const transaction = async (statements: Statement[]): Promise<SqlResult[]> => {
    // A pool lends one client for the whole transaction; a plain Client is used as is.
    const on = isPool ? ((await c.connect()) as PgPoolClient) : c;
    let broken: unknown;
    try {
      await query(on, "BEGIN", []);
      const results: SqlResult[] = [];
      for (const [text, values] of statements) results.push(await query(on, text, values));
      await query(on, "COMMIT", []);
      return results;
    } catch (error) {
      broken = await query(on, "ROLLBACK", []).then(
        () => undefined,
        (e: unknown) => e,
      );
      throw error;
    } finally {
      if (isPool) (on as PgPoolClient).release(broken instanceof Error ? broken : undefined);
    }
  };

  // A pool of one would lend its only client to a streamed write and starve the store's other calls.
  const spare = isPool && (c as { options?: { max?: number } }).options?.max !== 1;
  const session = async (): Promise<SqlSession> => {
    const on = (await c.connect()) as PgPoolClient;
    return { run: (text, values) => query(on, text, values), release: (broken) => on.release(broken) };
  };

  return {
    run: (text, values) => query(c, text, values),
    transaction,
    session: spare ? session : undefined,
    close: async () => {
      if (own) await c.end();
    },
  };
}

/** Creates the table and its ttl index if missing; true when its key column sorts bytewise. */
async function prepareTable(conn: SqlConnection, table: string, quote: (name: string) => string): Promise<boolean> {
  const name = table.split(".").map(quote).join(".");
  const index = quote(`${table.replace(/\./g, "_")}_ttl`);
  const ddl = [
    `CREATE TABLE IF NOT EXISTS ${name} ("key" TEXT COLLATE "C" NOT NULL PRIMARY KEY, "value" BYTEA, "timestamp" TIMESTAMP WITH TIME ZONE DEFAULT now(), "ttl" INTEGER)`,
    `CREATE INDEX IF NOT EXISTS ${index} ON ${name} ("ttl") WHERE "ttl" IS NOT NULL`,
  ];
  for (const sql of ddl) {
    // Two processes creating the same table race on the catalog: the loser's error is harmless.
    await conn.run(sql, []).catch((error: unknown) => {
      if (!["23505", "42P07", "42710"].includes(String(codeOf(error)))) throw error;
    });
  }
  const { rows } = await conn.run(
    `SELECT CASE WHEN a.attcollation = 100 THEN d.datcollate ELSE c.collname END
       FROM pg_attribute a
       LEFT JOIN pg_collation c ON c.oid = a.attcollation
       JOIN pg_database d ON d.datname = current_database()
      WHERE a.attrelid = to_regclass($1) AND a.attname = 'key'`,
    [name],
  );
  const collation = String(rows[0]?.[0] ?? "C");
  return /^(C|POSIX|C\.utf-?8|ucs_basic)$/i.test(collation);
}
