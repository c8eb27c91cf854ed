/**
 * The sql driver's change feed (SPEC 11).
 * - PostgreSQL: native. Every anystore write notifies the table's channel once it committed
 *   (`Notifier`), a trigger users may install does the same for other writers (README), and a
 *   watch LISTENs on a connection of its own.
 * - SQLite and MySQL have no feed: a watch polls the table every `watchInterval` ms. A tick reads
 *   the rows written lately (`timestamp` within a window behind the newest stamp seen) and counts
 *   the rows under the prefix; when the count is not what the known keys predict, something was
 *   deleted, expired or written with a stamp outside the window, and the whole key set is diffed.
 */
import type { DriverWatchEvent } from "../../../core/driver/contract.js";
import type { Dialect, SqlResult } from "./dialect.js";
import { successor } from "./rows.js";

type Emit = (event: DriverWatchEvent) => void;

/** Writers stamp rows with their own clock (SQLite) or commit after stamping: the window looks this far behind the newest stamp. */
const WINDOW_MS = 5000;

/** The LISTEN/NOTIFY channel of a table (a PostgreSQL identifier: at most 63 bytes). */
export function channelOf(table: string): string {
  return `anystore:${table}`.slice(0, 63);
}

/** Payloads: `p` or `d` followed by the key. */
export function parsePayload(payload: string | undefined): DriverWatchEvent | undefined {
  if (!payload || (payload[0] !== "p" && payload[0] !== "d")) return undefined;
  return { type: payload[0] === "p" ? "put" : "delete", key: payload.slice(1) };
}

/** Notifications per statement. */
const PER_STATEMENT = 1000;

/**
 * Notifies the table's channel of anystore's own writes, after they committed: the changes of one
 * turn of the event loop in one statement, statements in order, nothing waiting for them. A NOTIFY
 * inside the write's own transaction would hold PostgreSQL's notification lock while that commit
 * is flushed, serializing every concurrent writer of the database; a statement of its own commits
 * without waiting for the flush (`synchronous_commit` off for it: a notification needs none).
 */
export class Notifier {
  #payloads: string[] = [];
  #sending: Promise<unknown> = Promise.resolve();
  readonly #sql = "SELECT set_config('synchronous_commit', 'off', true), pg_notify($1, x) FROM unnest($2::text[]) AS x";
  /** Whether the table has the README's trigger, which then notifies instead (asked before the first notification). */
  #triggered: Promise<boolean> | undefined;
  constructor(
    readonly channel: string,
    readonly run: (sql: string, params: unknown[]) => Promise<{ rows: unknown[][] }>,
    readonly table: string,
  ) {}

  #hasTrigger(): Promise<boolean> {
    const sql = `SELECT 1 FROM pg_trigger WHERE tgrelid = to_regclass($1) AND tgname = 'anystore_notify'`;
    this.#triggered ??= this.run(sql, [this.table]).then(
      ({ rows }) => rows.length > 0,
      () => false,
    );
    return this.#triggered;
  }

  add(type: "put" | "delete", keys: string[]): void {
    if (this.#payloads.length === 0) setTimeout(this.#flush, 0);
    const mark = type === "put" ? "p" : "d";
    for (const key of keys) this.#payloads.push(mark + key);
  }

  /** Resolves once everything added so far was sent. */
  async idle(): Promise<void> {
    if (this.#payloads.length > 0) this.#flush();
    await this.#sending;
  }

  readonly #flush = () => {
    const payloads = this.#payloads.splice(0);
    for (let i = 0; i < payloads.length; i += PER_STATEMENT) {
      const part = payloads.slice(i, i + PER_STATEMENT);
      // A lost notification means a lost connection, which the listener sees too (resync).
      this.#sending = this.#sending
        .then(() => this.#hasTrigger())
        .then((triggered) => (triggered ? undefined : this.run(this.#sql, [this.channel, part])))
        .catch(() => {});
    }
  };
}

export interface TableAccess {
  dialect: Dialect;
  /** The quoted table. */
  table: string;
  /** SQL: the row is alive (not expired). */
  alive: string;
  run(sql: string, params: unknown[]): Promise<SqlResult>;
}

/** Polls the table for changes under `prefix` every `intervalMs`; resolves once the first key set is read. */
export async function pollTable(
  access: TableAccess,
  prefix: string,
  intervalMs: number,
  emit: Emit,
  signal: AbortSignal,
): Promise<void> {
  const { dialect: d, table, alive, run } = access;
  const upper = prefix === "" ? undefined : successor(prefix);
  const range = `${d.keyCompare()} >= ${d.param(1)}${upper === undefined ? "" : ` AND ${d.keyCompare()} < ${d.param(2)}`}`;
  const bounds = upper === undefined ? [prefix] : [prefix, upper];
  const version = `${d.epochMs}, ${d.size}`;
  const next = bounds.length + 1;
  const sql = {
    all: `SELECT ${d.quote("key")}, ${version} FROM ${table} WHERE ${range} AND ${alive}`,
    recent: `SELECT ${d.quote("key")}, ${version} FROM ${table} WHERE ${range} AND ${d.epochMs} >= ${d.param(next)} AND ${alive}`,
    count: `SELECT COUNT(*) FROM ${table} WHERE ${range} AND ${alive}`,
  };
  /** Each known key's version: its stamp and size. */
  let known = new Map<string, string>();
  let newest = 0;
  const versionOf = (row: unknown[]) => {
    const ms = Number(row[1] ?? 0);
    if (ms > newest) newest = ms;
    return `${ms}:${row[2]}`;
  };
  const readAll = async () => {
    const now = new Map<string, string>();
    for (const row of (await run(sql.all, bounds)).rows) now.set(String(row[0]), versionOf(row));
    return now;
  };

  const tick = async () => {
    for (const row of (await run(sql.recent, [...bounds, newest - WINDOW_MS])).rows) {
      const key = String(row[0]);
      const v = versionOf(row);
      if (known.get(key) === v) continue;
      known.set(key, v);
      emit({ type: "put", key });
    }
    const count = Number((await run(sql.count, bounds)).rows[0]?.[0] ?? 0);
    if (count === known.size) return;
    const now = await readAll();
    for (const key of known.keys()) if (!now.has(key)) emit({ type: "delete", key });
    for (const [key, v] of now) if (known.get(key) !== v) emit({ type: "put", key });
    known = now;
  };

  known = await readAll();
  let failed = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const schedule = () => {
    if (signal.aborted) return;
    timer = setTimeout(() => {
      tick()
        .then(
          () => {
            // Missed ticks (the database was away) may have missed a change that the diff cannot see
            // (a key rewritten with the same size within one millisecond): say so.
            if (failed) emit({ type: "resync" });
            failed = false;
          },
          () => {
            failed = true;
          },
        )
        .finally(schedule);
    }, intervalMs);
  };
  signal.addEventListener("abort", () => clearTimeout(timer), { once: true });
  schedule();
}
