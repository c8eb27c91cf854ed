/**
 * SQLite and libSQL through `@libsql/client` (imported lazily). Files run in WAL mode (a setting
 * of the file, kept by every connection) with `synchronous=NORMAL`; our own client keeps a
 * single connection, so that per-connection pragma holds for every statement (and `:memory:` is
 * one database, not one per connection).
 *
 * Other processes writing the same file: libsql runs statements on the main thread, so
 * SQLite's own busy wait would freeze the event loop for as long as it waits. It is kept short
 * (`BLOCKING_WAIT_MS`, set on every connection the client opens); a statement that still finds
 * the file locked is retried after pauses that block nothing, until `busyTimeout` has passed.
 */
import { mkdir } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { importPeer } from "../peer.js";
import type { Dialect, SqlConnection, SqlResult, Statement } from "./dialect.js";

/** The parts of a `@libsql/client` Client this driver uses. */
export interface LibsqlClientLike {
  execute(stmt: { sql: string; args: unknown[] }): Promise<{ rows: ArrayLike<unknown>[]; rowsAffected: number }>;
  batch(
    stmts: Array<{ sql: string; args: unknown[] }>,
    mode?: "write" | "read" | "deferred",
  ): Promise<Array<{ rows: ArrayLike<unknown>[]; rowsAffected: number }>>;
  close(): void;
  readonly protocol?: string;
}

export interface SqliteTarget {
  /** A `file:` url or a remote `libsql:`/`https:`/`wss:` url. */
  url?: string;
  authToken?: string;
  client?: LibsqlClientLike;
  /** Milliseconds a statement waits, in all, for another connection's lock. */
  busyTimeout: number;
}

/** How long SQLite itself may wait for a lock, blocking the thread, before we retry without blocking. */
const BLOCKING_WAIT_MS = 20;
const MAX_PAUSE_MS = 50;

/** Another connection holds the lock the statement needs. */
const isBusy = (error: unknown): boolean =>
  /^SQLITE_BUSY/.test(String((error as { code?: unknown } | null)?.code ?? ""));

/** Runs `attempt` again while it fails with SQLITE_BUSY, after growing pauses, until `budget` ms have passed. */
async function retryBusy<T>(attempt: () => Promise<T>, budget: number, first?: unknown): Promise<T> {
  const deadline = Date.now() + budget;
  let error = first;
  for (let pause = 2; ; pause = Math.min(pause * 2, MAX_PAUSE_MS)) {
    if (error !== undefined) {
      if (!isBusy(error) || Date.now() + pause > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, pause * (0.5 + Math.random())));
    }
    try {
      return await attempt();
    } catch (failure) {
      error = failure;
    }
  }
}

/**
 * The `@libsql/client` url for a SQLAlchemy-style uri: `sqlite:///rel.db` (relative to the
 * working directory), `sqlite:////abs.db`, `sqlite:///:memory:` (also bare `sqlite://`);
 * `libsql://` urls pass through.
 */
export function libsqlUrl(uri: string): string {
  if (/^libsql:\/\//i.test(uri)) return uri;
  const path = uri.replace(/^sqlite:\/\/\/?/i, "").replace(/\?.*$/, "");
  if (path === "" || path === ":memory:") return ":memory:";
  const absolute = resolve(path);
  // libsql percent-decodes the path and splits off a query: escape those characters.
  return `file:${absolute.replace(/[%?#]/g, (c) => encodeURIComponent(c))}`;
}

const rows = (rs: { rows: ArrayLike<unknown>[]; rowsAffected: number }): SqlResult => ({
  rows: rs.rows as unknown[][],
  affected: rs.rowsAffected,
});

const CONNECTION_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "EPIPE",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_SOCKET",
]);

/** Walks an error's cause chain looking for a network failure (remote libSQL over fetch or WebSocket). */
function networkFailure(error: unknown, depth = 0): boolean {
  if (typeof error !== "object" || error === null || depth > 4) return false;
  const e = error as { code?: unknown; message?: unknown; cause?: unknown; name?: unknown };
  if (typeof e.code === "string" && (CONNECTION_CODES.has(e.code) || e.code.startsWith("HRANA_WEBSOCKET"))) return true;
  if (e.name === "TypeError" && e.message === "fetch failed") return true;
  return networkFailure(e.cause, depth + 1);
}

/** The current time as SQLAlchemy's SQLite DATETIME text: "YYYY-MM-DD HH:MM:SS.ffffff", UTC. */
function sqliteNow(): string {
  const iso = new Date().toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}000`;
}

/** SQLite's SQLITE_MAX_LENGTH: the most a row (and so a value) may hold. */
const SQLITE_LIMIT = {
  bytes: 1_000_000_000,
  advice:
    "SQLite holds at most 1,000,000,000 bytes in a row (SQLITE_MAX_LENGTH); keep larger values in files (the fs driver)",
};

/** The SQLite dialect over a libsql client. */
export function sqliteDialect(target: SqliteTarget): Dialect {
  const local =
    target.client === undefined ? !/^(libsql|https?|wss?):/i.test(target.url ?? "") : target.client.protocol === "file";
  const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;
  return {
    name: "sqlite",
    quote,
    param: () => "?",
    // Python's SQLAlchemy writes DATETIME as "YYYY-MM-DD HH:MM:SS.ffffff" (UTC); %f gives SS.SSS.
    stamp: `strftime('%Y-%m-%d %H:%M:%f000', 'now')`,
    // In-process SQLite shares our clock: binding the time is cheaper than strftime per row.
    ...(local && { stampValue: sqliteNow }),
    ahead: `julianday("timestamp") + "ttl" / 86400.0 > julianday('now')`,
    passed: `julianday("timestamp") + "ttl" / 86400.0 <= julianday('now')`,
    // length() counts characters for text values (written by other programs); bytes for blobs.
    size: `length(CAST("value" AS BLOB))`,
    epochMs: `CAST(round((julianday("timestamp") - 2440587.5) * 86400000) AS INTEGER)`,
    substr: (from, len) => `substr(CAST("value" AS BLOB), ${from}, ${len})`,
    keyCompare: () => `"key"`,
    upsertTail: ` ON CONFLICT ("key") DO UPDATE SET "value" = excluded."value", "timestamp" = excluded."timestamp", "ttl" = excluded."ttl"`,
    sweep: (table, expired, limit) =>
      `DELETE FROM ${table} WHERE "key" IN (SELECT "key" FROM ${table} WHERE ${expired} LIMIT ${limit})`,
    isUniqueViolation: (error) =>
      /^SQLITE_CONSTRAINT/.test(
        String(
          (error as { extendedCode?: unknown; code?: unknown })?.extendedCode ??
            (error as { code?: unknown })?.code ??
            "",
        ),
      ),
    isConnectionError: networkFailure,
    valueLimit: () => SQLITE_LIMIT,
    isRetryable: isBusy,
    connect: (table) => retryBusy(() => connectSqlite(target, table, quote), target.busyTimeout),
  };
}

async function connectSqlite(
  target: SqliteTarget,
  table: string,
  quote: (name: string) => string,
): Promise<SqlConnection> {
  let client = target.client;
  const own = client === undefined;
  if (!client) {
    const url = target.url ?? ":memory:";
    if (url.startsWith("file:")) await mkdir(dirname(decodeURIComponent(url.slice(5))), { recursive: true });
    const { createClient } = await importPeer(
      () => import("@libsql/client"),
      "@libsql/client",
      "sqlite:// and libsql:// stores",
      "the SQLite and libSQL client",
    );
    // concurrency 1: one connection, so the pragma below applies to every statement we run.
    client = createClient({
      url,
      authToken: target.authToken,
      concurrency: 1,
      timeout: BLOCKING_WAIT_MS,
    }) as unknown as LibsqlClientLike;
  }
  const c = client;
  try {
    const local = own && (target.url === ":memory:" || /^file:/.test(target.url ?? ""));
    if (local) {
      await c.execute({ sql: "PRAGMA journal_mode = WAL", args: [] });
      await c.execute({ sql: "PRAGMA synchronous = NORMAL", args: [] });
    }
    const name = table.split(".").map(quote).join(".");
    const index = quote(`${table.replace(/\./g, "_")}_ttl`);
    const schema = table.includes(".") ? `${quote(table.split(".")[0]!)}.` : "";
    await c.batch(
      [
        {
          sql: `CREATE TABLE IF NOT EXISTS ${name} ("key" TEXT NOT NULL PRIMARY KEY, "value" BLOB, "timestamp" DATETIME DEFAULT CURRENT_TIMESTAMP, "ttl" INTEGER)`,
          args: [],
        },
        // Only rows with a ttl are indexed: the sweep reads just those.
        {
          sql: `CREATE INDEX IF NOT EXISTS ${schema}${index} ON ${quote(table.split(".").pop()!)} ("ttl") WHERE "ttl" IS NOT NULL`,
          args: [],
        },
      ],
      "write",
    );
  } catch (error) {
    if (own) c.close();
    throw error;
  }
  const budget = target.busyTimeout;
  // A statement that fails as busy changed nothing (a batch is rolled back), so it can run again.
  const execute = (stmt: { sql: string; args: unknown[] }) => c.execute(stmt).then(rows);
  const batch = (stmts: Array<{ sql: string; args: unknown[] }>) =>
    c.batch(stmts, "write").then((results) => results.map(rows));
  return {
    // Promise chains, not async functions: the success path stays as cheap as it was.
    run: (sql, args) =>
      execute({ sql, args }).catch((error: unknown) => retryBusy(() => execute({ sql, args }), budget, error)),
    transaction: (statements: Statement[]) => {
      const stmts = statements.map(([sql, args]) => ({ sql, args }));
      return batch(stmts).catch((error: unknown) => retryBusy(() => batch(stmts), budget, error));
    },
    close: async () => {
      if (own) c.close();
    },
  };
}
