/**
 * What a SQL dialect module (sqlite.ts, postgres.ts, mysql.ts) supplies to the runtime-neutral
 * core (core.ts): a connection, its flavour of SQL, and how to read its errors.
 */

import type { ValueLimit } from "./large-values.js";

export type { ValueLimit };

/** One result: rows as arrays in column order, and how many rows a write changed. */
export interface SqlResult {
  rows: unknown[][];
  affected: number;
}

/** A statement and its parameters. */
export type Statement = [sql: string, params: unknown[]];

/** A connection (or pool) as the core sees it. */
export interface SqlConnection {
  /** Runs one statement on its own (autocommit). */
  run(sql: string, params: unknown[]): Promise<SqlResult>;
  /** Runs statements in one transaction: all or nothing. */
  transaction(statements: Statement[]): Promise<SqlResult[]>;
  /** Ends the connection, unless it was handed in by the caller. */
  close(): Promise<void>;
  /**
   * A connection of its own for a long transaction (a streamed write, PostgreSQL); absent where
   * none can be spared (a single client, a pool of one).
   */
  session?(): Promise<SqlSession>;
}

/** One connection lent out of a pool; `release(true)` drops it (its state is unknown). */
export interface SqlSession {
  run(sql: string, params: unknown[]): Promise<SqlResult>;
  release(broken?: boolean): void;
}

/** What differs between SQLite, PostgreSQL and MySQL. */
export interface Dialect {
  readonly name: "sqlite" | "postgres" | "mysql";
  /** Opens the connection and creates the table if missing; `table` is already validated. */
  connect(table: string): Promise<SqlConnection>;
  /** Quotes an identifier. */
  quote(name: string): string;
  /** The n-th placeholder, 1-based (`?` or `$n`). */
  param(n: number): string;
  /** SQL for the time written to `timestamp`. */
  readonly stamp: string;
  /**
   * When set, `timestamp` is bound as this value instead of computed by `stamp`: cheaper for
   * an in-process database, whose clock is ours anyway.
   */
  readonly stampValue?: () => unknown;
  /** SQL: the row's expiry is still ahead (only evaluated when `ttl > 0`). */
  readonly ahead: string;
  /** SQL: the row's expiry has passed (only evaluated when `ttl > 0`). */
  readonly passed: string;
  /** SQL: the byte length of `value`. */
  readonly size: string;
  /** SQL: `timestamp` as epoch milliseconds (a number). */
  readonly epochMs: string;
  /** SQL: `len` bytes of `value` from the 1-based position `from` (two placeholders). */
  substr(from: string, len: string): string;
  /** The key column as compared in range predicates (a collation clause where needed). */
  keyCompare(): string;
  /** Turns `INSERT ...` into an upsert that replaces value, timestamp and ttl. */
  readonly upsertTail: string;
  /** A bounded delete of expired rows; `limit` is an integer literal. */
  sweep(table: string, expired: string, limit: number): string;
  /**
   * Bytes per statement when reading a value; none for one statement per value (SQLite's substr
   * loads the whole blob, so chunks would cost the square of the size).
   */
  readonly readChunk?: number;
  /** The longest key (in code points) the key column holds, if limited. */
  readonly maxKeyLength?: number;
  isUniqueViolation(error: unknown): boolean;
  isConnectionError(error: unknown): boolean;
  /** An error that means "the key is too long for the index" (mapped to InvalidKeyError). */
  isKeyTooLong?(error: unknown): boolean;
  /** Errors worth one retry of a transaction (deadlock, busy). */
  isRetryable?(error: unknown): boolean;
  /**
   * Listens for notifications on `channel` with a connection of its own until `signal` aborts
   * (PostgreSQL only); `gap` is called when it listens again after losing its connection.
   * Resolves once it listens.
   */
  listen?(channel: string, deliver: (payload: string) => void, gap: () => void, signal: AbortSignal): Promise<void>;
  /** The largest value one statement can carry, known once connected (MySQL asks the server). */
  valueLimit(): ValueLimit;
}

/** Socket errors that mean the server cannot be reached (ConnectionError, not IO). */
export const SOCKET_ERRORS = [
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EPIPE",
  "EAI_AGAIN",
] as const;
