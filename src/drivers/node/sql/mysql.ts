/**
 * MySQL and MariaDB through `mysql2/promise` (imported lazily), with prepared statements
 * (`execute`). The key column is `VARCHAR(768)` in a binary, no-pad collation: 768 four-byte
 * characters are InnoDB's 3072-byte index limit, and a binary collation keeps keys
 * case-sensitive, trailing spaces significant, and sorted bytewise for paging.
 * Timestamps are `DATETIME(6)` in UTC, as Python's `datetime.utcnow()` compares them.
 */
import { Buffer } from "node:buffer";
import { importPeer } from "../peer.js";
import type { Dialect, SqlConnection, SqlResult, SqlSession, Statement, ValueLimit } from "./dialect.js";
import { SOCKET_ERRORS } from "./dialect.js";

type Executed = [unknown, unknown];
interface MysqlExecutor {
  execute(options: { sql: string; rowsAsArray?: boolean; timeout?: number }, values: unknown[]): Promise<Executed>;
}
/** A `mysql2/promise` Pool or Connection, or a callback one (its `.promise()` is used). */
export interface MysqlClientLike extends MysqlExecutor {
  end(): Promise<void>;
  getConnection?(): Promise<
    MysqlExecutor & {
      beginTransaction(): Promise<void>;
      commit(): Promise<void>;
      rollback(): Promise<void>;
      release(): void;
      destroy?(): void;
    }
  >;
  beginTransaction?(): Promise<void>;
  commit?(): Promise<void>;
  rollback?(): Promise<void>;
  promise?(): MysqlClientLike;
}

export interface MysqlTarget {
  /** A `mysql://user:pass@host:port/db` url. */
  url?: string;
  client?: MysqlClientLike;
  connectTimeout: number;
  queryTimeout: number;
  poolSize: number;
}

export const MYSQL_MAX_KEY = 768;
const NETWORK = new Set<string>([
  ...SOCKET_ERRORS,
  "PROTOCOL_CONNECTION_LOST",
  "PROTOCOL_SEQUENCE_TIMEOUT",
  "ER_SERVER_SHUTDOWN",
  "ER_CON_COUNT_ERROR",
]);

function isConnectionError(error: unknown): boolean {
  const e = error as { code?: unknown; fatal?: unknown; message?: unknown } | null;
  if (!e || typeof e !== "object") return false;
  if (typeof e.code === "string" && NETWORK.has(e.code)) return true;
  if (e.fatal === true) return true;
  return typeof e.message === "string" && /closed state|connect ETIMEDOUT|Connection lost/i.test(e.message);
}

/** mysql2 sends only Buffers as BLOB parameters. */
const asBuffer = (value: unknown) =>
  value instanceof Uint8Array && !Buffer.isBuffer(value)
    ? Buffer.from(value.buffer, value.byteOffset, value.byteLength)
    : value;

const codeOf = (error: unknown) => String((error as { code?: unknown } | null)?.code ?? "");

/** The MySQL/MariaDB dialect. */
export function mysqlDialect(target: MysqlTarget): Dialect {
  const quote = (name: string) => `\`${name.replace(/`/g, "``")}\``;
  let limit = valueLimitOf({ product: "MySQL", maxPacket: DEFAULT_PACKET });
  return {
    name: "mysql",
    quote,
    param: () => "?",
    stamp: "UTC_TIMESTAMP(6)",
    // a result row must fit in max_allowed_packet (16 MiB by default): read 4 MiB at a time
    readChunk: 4 * 1024 * 1024,
    ahead: "`timestamp` + INTERVAL `ttl` SECOND > UTC_TIMESTAMP(6)",
    passed: "`timestamp` + INTERVAL `ttl` SECOND <= UTC_TIMESTAMP(6)",
    size: "LENGTH(`value`)",
    epochMs: "TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', `timestamp`) DIV 1000",
    substr: (from, len) => `SUBSTRING(\`value\`, ${from}, ${len})`,
    keyCompare: () => "`key`",
    upsertTail:
      " ON DUPLICATE KEY UPDATE `value` = VALUES(`value`), `timestamp` = VALUES(`timestamp`), `ttl` = VALUES(`ttl`)",
    sweep: (table, expired, limit) => `DELETE FROM ${table} WHERE ${expired} LIMIT ${limit}`,
    maxKeyLength: MYSQL_MAX_KEY,
    isUniqueViolation: (error) => codeOf(error) === "ER_DUP_ENTRY",
    isConnectionError,
    isKeyTooLong: (error) => codeOf(error) === "ER_DATA_TOO_LONG" && /'key'/.test(String((error as Error).message)),
    isRetryable: (error) => codeOf(error) === "ER_LOCK_DEADLOCK" || codeOf(error) === "ER_LOCK_WAIT_TIMEOUT",
    valueLimit: () => limit,
    connect: async (table) => {
      const conn = await connectMysql(target);
      try {
        limit = valueLimitOf(await prepareTable(conn, table, quote));
      } catch (error) {
        await conn.close().catch(() => {});
        throw error;
      }
      return conn;
    },
  };
}

async function connectMysql(target: MysqlTarget): Promise<SqlConnection> {
  let client = target.client;
  const own = client === undefined;
  if (!client) {
    const mysql = (
      await importPeer(() => import("mysql2/promise"), "mysql2", "mysql:// stores", "the MySQL and MariaDB client")
    ).default;
    client = mysql.createPool({
      uri: target.url,
      connectTimeout: target.connectTimeout,
      connectionLimit: target.poolSize,
      maxIdle: Math.min(2, target.poolSize),
      idleTimeout: 30_000,
      enableKeepAlive: true,
      supportBigNumbers: true,
    }) as unknown as MysqlClientLike;
  } else if (typeof client.promise === "function") {
    client = client.promise();
  }
  const c = client;
  const timeout = target.queryTimeout || undefined;
  const exec = async (on: MysqlExecutor, sql: string, values: unknown[]): Promise<SqlResult> => {
    const [result] = await on.execute({ sql, rowsAsArray: true, timeout }, values.map(asBuffer));
    if (Array.isArray(result)) return { rows: result as unknown[][], affected: 0 };
    return { rows: [], affected: Number((result as { affectedRows?: number }).affectedRows ?? 0) };
  };

  const transaction = async (statements: Statement[]): Promise<SqlResult[]> => {
    const on = c.getConnection ? await c.getConnection() : (c as Required<MysqlClientLike>);
    try {
      await on.beginTransaction();
      const results: SqlResult[] = [];
      for (const [sql, values] of statements) results.push(await exec(on, sql, values));
      await on.commit();
      return results;
    } catch (error) {
      await on.rollback().catch(() => {});
      throw error;
    } finally {
      if (c.getConnection) (on as { release(): void }).release();
    }
  };

  /** A pooled connection for a streamed write; transaction statements go through the client's own calls. */
  const session = async (): Promise<SqlSession> => {
    const on = await c.getConnection!();
    const control = { BEGIN: () => on.beginTransaction(), COMMIT: () => on.commit(), ROLLBACK: () => on.rollback() };
    return {
      run: (sql, values) => {
        const step = control[sql as keyof typeof control];
        return step ? step().then(() => ({ rows: [], affected: 0 })) : exec(on, sql, values);
      },
      release: (broken) => (broken && on.destroy ? on.destroy() : on.release()),
    };
  };

  return {
    run: (sql, values) => exec(c, sql, values),
    transaction,
    // A pool of one would lend its only connection to a streamed write and starve the store's other calls.
    session: c.getConnection && (!own || target.poolSize > 1) ? session : undefined,
    close: async () => {
      if (own) await c.end();
    },
  };
}

/** What the server lets one statement carry. */
interface ServerLimits {
  product: "MySQL" | "MariaDB";
  maxPacket: number;
}
/** MariaDB's default max_allowed_packet, until the server says. */
const DEFAULT_PACKET = 16 * 1024 * 1024;

function valueLimitOf(server: ServerLimits): ValueLimit {
  return {
    bytes: server.maxPacket,
    advice:
      `the ${server.product} server's max_allowed_packet is ${server.maxPacket} bytes, and a statement carrying a larger value ` +
      "would be dropped with its connection. Raise it (1 GiB at most): SET GLOBAL max_allowed_packet = 1073741824, and " +
      "max_allowed_packet = 1G under [mysqld] in the server's configuration; the store reads it when it connects",
  };
}

/** Creates the table if missing; returns the server's packet limit. */
async function prepareTable(
  conn: SqlConnection,
  table: string,
  quote: (name: string) => string,
): Promise<ServerLimits> {
  const { rows } = await conn.run("SELECT VERSION(), @@max_allowed_packet", []);
  const version = String(rows[0]?.[0] ?? "");
  const maxPacket = Number(rows[0]?.[1]) || DEFAULT_PACKET;
  // No-pad binary collations: MariaDB's utf8mb4_nopad_bin, MySQL 8's utf8mb4_0900_bin.
  const collation = /mariadb/i.test(version)
    ? "utf8mb4_nopad_bin"
    : /^[89]|^\d\d/.test(version)
      ? "utf8mb4_0900_bin"
      : "utf8mb4_bin";
  const name = table.split(".").map(quote).join(".");
  const index = quote(`${table.replace(/\./g, "_")}_ttl`);
  await conn.run(
    `CREATE TABLE IF NOT EXISTS ${name} (
      \`key\` VARCHAR(${MYSQL_MAX_KEY}) CHARACTER SET utf8mb4 COLLATE ${collation} NOT NULL PRIMARY KEY,
      \`value\` LONGBLOB NULL,
      \`timestamp\` DATETIME(6) NULL DEFAULT CURRENT_TIMESTAMP(6),
      \`ttl\` INTEGER NULL,
      KEY ${index} (\`ttl\`)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
    [],
  );
  return { product: /mariadb/i.test(version) ? "MariaDB" : "MySQL", maxPacket };
}
