/**
 * The SQL driver: Python anystore's table in SQLite/libSQL, PostgreSQL or MySQL/MariaDB.
 * This file picks a dialect module from the uri (or the client handed in) and hands it to the
 * runtime-neutral core in `./sql/core.ts`; each backend client is imported only when used.
 */
import type { Driver } from "../../../core/driver/contract.js";
import { InvalidArgumentError, UnsupportedError } from "../../../core/errors.js";
import { sqlCore } from "./core.js";
import type { Dialect } from "./dialect.js";
import type { MysqlClientLike } from "./mysql.js";
import { mysqlDialect } from "./mysql.js";
import type { PgClientLike } from "./postgres.js";
import { postgresDialect } from "./postgres.js";
import type { LibsqlClientLike } from "./sqlite.js";
import { libsqlUrl, sqliteDialect } from "./sqlite.js";

export const DRIVER_NAME = "sql";

export type SqlDialectName = "sqlite" | "postgres" | "mysql";

export interface SqlDriverOptions {
  /**
   * A SQLAlchemy-style url: `sqlite:///rel.db`, `sqlite:////abs.db`, `sqlite:///:memory:`,
   * `libsql://host`, `postgresql://user@host/db` (or `postgres://`), `mysql://user@host/db`.
   * Not needed when `client` is given.
   * @default undefined
   */
  uri?: string;
  /**
   * The table, shared with Python anystore (`key`, `value`, `timestamp`, `ttl`); created if
   * missing. Letters, digits and `_`, optionally `schema.table`.
   * @default "anystore"
   */
  table?: string;
  /**
   * An existing connection to use instead of opening one: a `@libsql/client` Client, a `pg`
   * Pool or Client, or a `mysql2` Pool or Connection. The store never closes it.
   * @default undefined
   */
  client?: unknown;
  /**
   * The dialect of `client` when it cannot be told from its shape.
   * @default guessed from `uri` or `client`
   */
  dialect?: SqlDialectName;
  /**
   * Milliseconds to establish a connection (and for SQLite, to wait for another process's
   * lock) before an operation rejects with `ConnectionError`.
   * @default 5000
   */
  connectTimeout?: number;
  /**
   * Milliseconds a PostgreSQL or MySQL statement may take before it rejects with
   * `ConnectionError` (a server that stopped answering); 0 for no limit.
   * @default 30000
   */
  queryTimeout?: number;
  /**
   * Milliseconds between the bounded sweeps of expired rows that writes trigger (in the
   * background); 0 turns them off (`store.sweep()` still works).
   * @default 60000
   */
  sweepInterval?: number;
  /**
   * Milliseconds between the polls of a watch on SQLite and MySQL, which have no change feed
   * (PostgreSQL's watch listens instead).
   * @default 1000
   */
  watchInterval?: number;
  /**
   * Connections in the PostgreSQL or MySQL pool.
   * @default 10
   */
  poolSize?: number;
  /**
   * The auth token for a remote `libsql://` database (also taken from `?authToken=` in the url).
   * @default undefined
   */
  authToken?: string;
}

const TABLE = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/;

/** The dialect a uri names. */
export function dialectOfUri(uri: string): SqlDialectName {
  const scheme = /^([a-z0-9]+)(\+[a-z0-9]+)?:/i.exec(uri)?.[1]?.toLowerCase();
  if (scheme === "sqlite" || scheme === "libsql") return "sqlite";
  if (scheme === "postgres" || scheme === "postgresql") return "postgres";
  if (scheme === "mysql" || scheme === "mariadb") return "mysql";
  throw new UnsupportedError(
    `the sql driver does not know ${JSON.stringify(uri)}: use sqlite://, libsql://, postgresql:// or mysql://`,
  );
}

/** The dialect of a client by its shape: libsql has `batch`, mysql2 `execute`, pg `query`. */
function dialectOfClient(client: unknown): SqlDialectName {
  const c = client as Record<string, unknown>;
  if (typeof c?.batch === "function" && typeof c?.execute === "function") return "sqlite";
  if (typeof c?.execute === "function" || typeof c?.promise === "function") return "mysql";
  if (typeof c?.query === "function") return "postgres";
  throw new InvalidArgumentError(
    "the sql driver's `client` must be a @libsql/client Client, a pg Pool/Client or a mysql2 Pool/Connection",
  );
}

/** Drops SQLAlchemy's `+driver` from a scheme (`postgresql+psycopg2://` -> `postgresql://`). */
const plainUri = (uri: string) => uri.replace(/^([a-z0-9]+)\+[a-z0-9]+:/i, "$1:");

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new InvalidArgumentError(`sql option ${name} must be a number >= 0, got ${String(value)}`);
  }
  return value;
}

/**
 * Stores each key as a row of Python anystore's table (`key`, `value`, `timestamp`, `ttl`),
 * so both languages share one table. Upserts are single statements, batches one statement
 * or transaction, listing pages through the primary key, expired rows are invisible and
 * swept in bounded steps, `ifNotExists` is a plain insert. Connects on first use; an
 * unreachable server is a `ConnectionError` within `connectTimeout`, and the same store works
 * again once the server is back.
 * @example
 * import { createStore } from "anystore";
 * import { sqlDriver } from "anystore/drivers/sql";
 * const store = createStore({ driver: sqlDriver({ uri: "sqlite:///data.db", table: "cache" }) });
 * await store.put("a/b", { hello: "world" }, { ttl: 60 });
 * @example
 * // reuse a pool you already have
 * const store = createStore({ driver: sqlDriver({ client: new pg.Pool(), table: "anystore" }) });
 */
export function sqlDriver(opts: SqlDriverOptions): Driver {
  const table = opts.table ?? "anystore";
  if (!TABLE.test(table)) {
    throw new InvalidArgumentError(
      `sql table must be letters, digits and _ (optionally schema.table), got ${JSON.stringify(table)}`,
    );
  }
  if (opts.uri === undefined && opts.client === undefined)
    throw new InvalidArgumentError("the sql driver needs a uri or a client");
  const uri = opts.uri === undefined ? undefined : plainUri(opts.uri);
  const name = opts.dialect ?? (opts.client !== undefined ? dialectOfClient(opts.client) : dialectOfUri(uri!));
  const connectTimeout = positive("connectTimeout", opts.connectTimeout, 5000);
  const queryTimeout = positive("queryTimeout", opts.queryTimeout, 30_000);
  const poolSize = Math.max(1, Math.floor(positive("poolSize", opts.poolSize, 10)));
  let dialect: Dialect;
  if (name === "sqlite") {
    dialect = sqliteDialect({
      ...(opts.client !== undefined ? { client: opts.client as LibsqlClientLike } : { url: libsqlUrl(uri!) }),
      authToken: opts.authToken,
      // Waiting for another process's lock is part of a statement's time, not of connecting.
      busyTimeout: queryTimeout,
    });
  } else {
    // The two server databases take the same connection settings.
    const server = { url: uri, connectTimeout, queryTimeout, poolSize };
    dialect =
      name === "postgres"
        ? postgresDialect({ ...server, client: opts.client as PgClientLike | undefined })
        : mysqlDialect({ ...server, client: opts.client as MysqlClientLike | undefined });
  }
  return sqlCore(dialect, {
    table,
    sweepInterval: positive("sweepInterval", opts.sweepInterval, 60_000),
    watchInterval: Math.max(10, positive("watchInterval", opts.watchInterval, 1000)),
  });
}

/** The factory the uri registry calls for `sqlite:`, `libsql:`, `postgres(ql):` and `mysql:` uris. */
export function sqlDriverFromUri(uri: string, options: Record<string, unknown>): Driver {
  const pick = <T>(key: string) => options[key] as T | undefined;
  return sqlDriver({
    uri,
    table: pick<string>("table"),
    client: pick("client"),
    dialect: pick<SqlDialectName>("dialect"),
    connectTimeout: pick<number>("connectTimeout"),
    queryTimeout: pick<number>("queryTimeout"),
    sweepInterval: pick<number>("sweepInterval"),
    watchInterval: pick<number>("watchInterval"),
    poolSize: pick<number>("poolSize"),
    authToken: pick<string>("authToken"),
  });
}
