/**
 * The runtime-neutral SQL core (the db0 split): a dialect module supplies a connection and
 * its flavour of SQL; this file turns them into a `Driver` over Python anystore's table
 * (`key` primary key, `value` bytes, `timestamp` set on every write, `ttl` seconds or null).
 * No `node:*` imports here: a dialect that runs elsewhere (libSQL over HTTP) can reuse it.
 *
 * Invariants:
 * - A row is alive when `ttl` is null or <= 0, or `timestamp + ttl` is after the database's
 *   clock; every read filters on that in SQL, so expired rows are invisible everywhere and
 *   only one clock (the server's) decides.
 * - Listing pages in key order with `key > last` and prefix bounds (`key < successor`), so
 *   it walks the primary key index and never holds more than one page.
 */

import { alreadyExists } from "../../../core/already-exists.js";
import type { ByteRange, Driver, DriverInfo, WriteOptions } from "../../../core/driver/contract.js";
import { AnystoreError, ConnectionError, InvalidKeyError, isAnystoreError } from "../../../core/errors.js";
import { bytesToStream } from "../../../core/streams/from-bytes.js";
import type { Dialect, SqlConnection, SqlResult, Statement } from "./dialect.js";
import { gatheringWritable, readLarge, valueSizes } from "./large-values.js";
import { chunkedStream, chunks, PAGE, pagedKeys, successor, toBytes } from "./rows.js";
import { stagedWriter } from "./staged-write.js";
import { channelOf, Notifier, parsePayload, pollTable } from "./watch.js";

export interface CoreOptions {
  /** A validated, unquoted table name (`name` or `schema.name`). */
  table: string;
  /** Milliseconds between the bounded sweeps that writes trigger; 0 turns them off. */
  sweepInterval: number;
  /** Milliseconds between the polls of a watch, where the database has no change feed. */
  watchInterval: number;
}

const SWEEP_LIMIT = 1000;
/** Rows per multi-row upsert, and a byte budget so one statement stays well under server packet limits. */
const ROWS_PER_STATEMENT = 200;
const BYTES_PER_STATEMENT = 4 * 1024 * 1024;
const KEYS_PER_STATEMENT = 500;
const MAX_INT = 2_147_483_647;

const nothing = (): void => undefined;

/** Integer seconds for the `ttl` column, or null for none (the column is Python's INTEGER). */
const ttlOf = (o: WriteOptions): number | null => (o.ttl ? Math.max(1, Math.ceil(o.ttl)) : null);

/**
 * A driver over one table. `connect` runs on first use; when it fails (server down) the next
 * call tries again, and pools reconnect by themselves, so a store outlives an outage.
 */
export function sqlCore(dialect: Dialect, opts: CoreOptions): Driver {
  const q = dialect.quote;
  const P = dialect.param;
  const T = opts.table.split(".").map(q).join(".");
  const [K, V, S, L] = ["key", "value", "timestamp", "ttl"].map(q) as [string, string, string, string];
  const alive = `(${L} IS NULL OR ${L} <= 0 OR ${dialect.ahead})`;
  const expired = `(${L} > 0 AND ${dialect.passed})`;
  const columns = `(${K}, ${V}, ${S}, ${L})`;
  const stampValue = dialect.stampValue;
  /** Parameters per row: key, value, [timestamp,] ttl. */
  const W = stampValue ? 4 : 3;
  const rowSql = (n: number) =>
    `(${P(n)}, ${P(n + 1)}, ${stampValue ? `${P(n + 2)}, ${P(n + 3)}` : `${dialect.stamp}, ${P(n + 2)}`})`;
  const row = (key: string, value: Uint8Array, ttl: number | null): unknown[] =>
    stampValue ? [key, value, stampValue(), ttl] : [key, value, ttl];
  const placeholders = (n: number, from = 1) => Array.from({ length: n }, (_, i) => P(from + i)).join(", ");
  /**
   * Where a result row holds at most `readChunk` bytes of value, whole reads select the value only
   * when it fits, else its size, and read a larger one in chunks (see `getLarge`).
   */
  const chunk = dialect.readChunk;
  const value = chunk ? `CASE WHEN ${dialect.size} <= ${chunk} THEN ${V} END, ${dialect.size}` : V;
  const sql = {
    get: `SELECT ${value} FROM ${T} WHERE ${K} = ${P(1)} AND ${alive}`,
    has: `SELECT 1 FROM ${T} WHERE ${K} = ${P(1)} AND ${alive}`,
    info: `SELECT ${dialect.size}, ${dialect.epochMs} FROM ${T} WHERE ${K} = ${P(1)} AND ${alive}`,
    // Placeholders numbered in text order: `?` dialects bind by position.
    // The first chunk of a read with what identifies the version being read (size, stamp).
    head: `SELECT ${dialect.size}, COALESCE(${dialect.epochMs}, -1), ${dialect.substr(P(1), P(2))} FROM ${T} WHERE ${K} = ${P(3)} AND ${alive}`,
    // A later chunk, only from that same version: a value replaced mid-read yields no row.
    chunk: `SELECT ${dialect.substr(P(1), P(2))} FROM ${T} WHERE ${K} = ${P(3)} AND ${dialect.size} = ${P(4)} AND COALESCE(${dialect.epochMs}, -1) = ${P(5)}`,
    insert: `INSERT INTO ${T} ${columns} VALUES ${rowSql(1)}`,
    upsert: `INSERT INTO ${T} ${columns} VALUES ${rowSql(1)}${dialect.upsertTail}`,
    delete: `DELETE FROM ${T} WHERE ${K} = ${P(1)}`,
    deleteExpired: `DELETE FROM ${T} WHERE ${K} = ${P(1)} AND ${expired}`,
    sweep: dialect.sweep(T, expired, SWEEP_LIMIT),
  };
  const cached = new Map<string, string>();
  const memo = (id: string, make: () => string) => cached.get(id) ?? cached.set(id, make()).get(id)!;
  const upsertMany = (n: number) =>
    memo(
      `u${n}`,
      () =>
        `INSERT INTO ${T} ${columns} VALUES ${Array.from({ length: n }, (_, i) => rowSql(1 + W * i)).join(", ")}${dialect.upsertTail}`,
    );
  const getMany = (n: number) =>
    memo(`g${n}`, () => `SELECT ${value}, ${K} FROM ${T} WHERE ${K} IN (${placeholders(n)}) AND ${alive}`);
  const deleteMany = (n: number) => memo(`d${n}`, () => `DELETE FROM ${T} WHERE ${K} IN (${placeholders(n)})`);
  const list = (bounded: boolean) =>
    memo(`l${bounded}`, () => {
      const kc = dialect.keyCompare();
      const upper = bounded ? ` AND ${kc} < ${P(2)}` : "";
      // One row more than a page tells whether another page follows, without an empty query.
      return `SELECT ${K} FROM ${T} WHERE ${kc} > ${P(1)}${upper} AND ${alive} ORDER BY ${kc} LIMIT ${PAGE + 1}`;
    });

  let conn: SqlConnection | undefined;
  let connecting: Promise<SqlConnection> | undefined;
  let lastSweep = 0;
  let sweeping: Promise<unknown> | undefined;

  const fail = (error: unknown, key?: string): AnystoreError => {
    if (isAnystoreError(error)) return error;
    const message = error instanceof Error ? error.message : String(error);
    if (dialect.isConnectionError(error)) {
      return new ConnectionError(`${dialect.name} is unreachable: ${message}`, { key, cause: error });
    }
    if (dialect.isKeyTooLong?.(error)) {
      return new InvalidKeyError(`key is too long for the ${dialect.name} primary key index: ${message}`, {
        key,
        cause: error,
      });
    }
    return new AnystoreError(`${dialect.name}: ${message}`, { key, cause: error });
  };

  const open = (): Promise<SqlConnection> =>
    (connecting ??= dialect.connect(opts.table).then(
      (c) => (conn = c),
      (error) => {
        connecting = undefined;
        throw fail(error);
      },
    ));

  const failing =
    (key?: string) =>
    (error: unknown): never => {
      throw fail(error, key);
    };
  /**
   * Runs one statement; the connection is opened on first use. Plain promise chaining rather
   * than an async function: the hot paths (get, put) feel every extra promise.
   */
  const run = (text: string, params: unknown[], key?: string): Promise<SqlResult> => {
    let started: Promise<SqlResult>;
    try {
      started = conn ? conn.run(text, params) : open().then((c) => c.run(text, params));
    } catch (error) {
      return Promise.reject(fail(error, key));
    }
    return started.then(undefined, failing(key));
  };

  /** Several statements atomically: one statement runs alone, more go in a transaction (retried once on deadlock). */
  const atomically = async (statements: Statement[]): Promise<void> => {
    if (statements.length === 0) return;
    if (statements.length === 1) return void (await run(...statements[0]!));
    const c = conn ?? (await open());
    try {
      await c
        .transaction(statements)
        .catch((error) => (dialect.isRetryable?.(error) ? c.transaction(statements) : Promise.reject(error)));
    } catch (error) {
      throw fail(error);
    }
  };

  const checkKey = (key: string) => {
    const max = dialect.maxKeyLength;
    if (max !== undefined && key.length > max && [...key].length > max) {
      throw new InvalidKeyError(`key is longer than ${max} characters, the most the ${dialect.name} key column holds`, {
        key,
      });
    }
  };

  /** Occasionally, on writes, a bounded sweep in the background: expired rows never pile up. */
  const maybeSweep = () => {
    if (opts.sweepInterval <= 0 || sweeping) return;
    const now = Date.now();
    if (now - lastSweep < opts.sweepInterval) return;
    lastSweep = now;
    sweeping = run(sql.sweep, [])
      .catch(() => undefined)
      .finally(() => (sweeping = undefined));
  };

  /** The value of a row selected with `value`: its bytes, or undefined when it is too large for one row and must be read in chunks. */
  const rowValue = (row: unknown[]): Uint8Array | undefined =>
    chunk && row[0] === null && Number(row[1]) > chunk ? undefined : toBytes(row[0]);

  /** A value larger than one chunk, read a chunk at a time into one buffer (see `readLarge`). */
  const getLarge = (key: string): Promise<Uint8Array | null> =>
    readLarge(
      key,
      chunk!,
      async () => (await run(sql.head, [1, chunk, key], key)).rows[0],
      async (from, length, size, stamp) =>
        (await run(sql.chunk, [from + 1, length, key, size, stamp], key)).rows[0]?.[0],
    );
  const { maxValue, tooLarge, check: checkSize } = valueSizes(dialect.name, () => dialect.valueLimit());

  const insertNew = async (key: string, value: Uint8Array, ttl: number | null) => {
    const params = row(key, value, ttl);
    try {
      await run(sql.insert, params, key);
      return;
    } catch (error) {
      if (!dialect.isUniqueViolation((error as AnystoreError).cause)) throw error;
    }
    // The row exists; an expired one counts as absent. Deleting it only if it is still expired
    // at that instant, then inserting, keeps this atomic without a transaction: a concurrent
    // writer makes our insert fail, which is the right answer.
    const { affected } = await run(sql.deleteExpired, [key], key);
    if (affected > 0) {
      try {
        await run(sql.insert, params, key);
        return;
      } catch (error) {
        if (!dialect.isUniqueViolation((error as AnystoreError).cause)) throw error;
      }
    }
    throw alreadyExists(key);
  };

  /** Where a watch listens (PostgreSQL), anystore's own writes are announced once committed. */
  const notifier = dialect.listen ? new Notifier(channelOf(opts.table), run, T) : undefined;
  const committed = (key: string) => {
    maybeSweep();
    notifier?.add("put", [key]);
  };
  const staged = stagedWriter({ dialect, table: T, columns, keyColumn: K, fail, committed });

  const driver: Driver = {
    name: "sql",
    capabilities: {
      ttl: true,
      ifNotExists: true,
      ranges: true,
      batch: true,
      streams: false,
      paths: false,
      createdAt: false,
      // PostgreSQL's LISTEN/NOTIFY is a feed; SQLite and MySQL are polled (by `watch` below).
      watch: dialect.listen !== undefined,
    },
    get(key) {
      return run(sql.get, [key], key).then(({ rows }) =>
        rows.length === 0 ? null : (rowValue(rows[0]!) ?? getLarge(key)),
      );
    },
    put(key, value, o) {
      try {
        checkKey(key);
        if (conn) checkSize(key, value.byteLength);
      } catch (error) {
        return Promise.reject(error);
      }
      if (!conn) return open().then(() => driver.put(key, value, o));
      maybeSweep();
      const done = notifier ? () => notifier.add("put", [key]) : nothing;
      if (o.ifNotExists) return insertNew(key, value, ttlOf(o)).then(done);
      return run(sql.upsert, row(key, value, ttlOf(o)), key).then(done);
    },
    async delete(key) {
      if ((await run(sql.delete, [key], key)).affected > 0) notifier?.add("delete", [key]);
    },
    async has(key) {
      return (await run(sql.has, [key], key)).rows.length > 0;
    },
    async info(key): Promise<DriverInfo | null> {
      const row = (await run(sql.info, [key], key)).rows[0];
      if (!row) return null;
      const ms = row[1] === null || row[1] === undefined ? NaN : Number(row[1]);
      return { size: Number(row[0] ?? 0), createdAt: null, updatedAt: Number.isFinite(ms) ? new Date(ms) : null };
    },
    async write(key, o) {
      checkKey(key);
      const { session } = conn ?? (await open());
      const [max, put] = [maxValue(key), (bytes: Uint8Array) => driver.put(key, bytes, o)];
      const big = (size: number) => tooLarge(key, size);
      // Where a connection can be spared (PostgreSQL, MySQL), chunks are staged server-side; else the value is gathered.
      if (!session || !staged) return gatheringWritable(max, big, put);
      return staged({ key, ttl: ttlOf(o), ifNotExists: !!o.ifNotExists, max, tooLarge: big, session, put });
    },
    async read(key, range?: ByteRange) {
      if (!chunk && !range) {
        // The value as `get` reads it: a substr would copy it once more.
        const whole = await driver.get(key);
        return whole && bytesToStream(whole);
      }
      const start = Math.min(range?.start ?? 0, MAX_INT - 1);
      const wanted = range?.end === undefined ? MAX_INT : Math.max(start, Math.min(range.end, MAX_INT));
      const head = (await run(sql.head, [start + 1, Math.min(wanted - start, dialect.readChunk ?? MAX_INT), key], key))
        .rows[0];
      if (!head) return null;
      const [size, stamp] = [Number(head[0] ?? 0), head[1]];
      const first = toBytes(head[2]);
      const end = Math.min(wanted, size);
      if (start + first.byteLength >= end) return bytesToStream(first);
      return chunkedStream(first, start + first.byteLength, end, (from, length) =>
        run(sql.chunk, [from + 1, length, key, size, stamp], key).then(({ rows }) => {
          const chunk = rows.length === 0 ? undefined : toBytes(rows[0]![0]);
          if (chunk?.byteLength !== length)
            throw new AnystoreError("the value changed while it was being read", { key });
          return chunk;
        }),
      );
    },
    list(prefix) {
      const upper = prefix === "" ? undefined : successor(prefix);
      return pagedKeys(prefix, async (after) => {
        if (!conn) await open();
        const text = list(upper !== undefined); // after connecting: the key comparison may depend on the table
        return (await run(text, upper === undefined ? [after] : [after, upper])).rows;
      });
    },
    async getMany(keys) {
      const found = new Map<string, Uint8Array>();
      // The parts at once: a pool runs them on several connections (reads need no transaction).
      const parts = chunks([...new Set(keys)], KEYS_PER_STATEMENT);
      const large: string[] = [];
      for (const { rows } of await Promise.all(parts.map((part) => run(getMany(part.length), part)))) {
        for (const row of rows) {
          const key = String(row[row.length - 1]);
          const bytes = rowValue(row);
          if (bytes) found.set(key, bytes);
          else large.push(key);
        }
      }
      for (const key of large) {
        const bytes = await getLarge(key);
        if (bytes) found.set(key, bytes);
      }
      return keys.map((key) => found.get(key) ?? null);
    },
    async putMany(entries, o) {
      // Last value wins for a repeated key (one statement may not touch a row twice in
      // PostgreSQL); key order gives concurrent batches the same lock order.
      const rows = [...new Map(entries)].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      for (const [key] of rows) checkKey(key);
      if (!conn) await open();
      for (const [key, value] of rows) checkSize(key, value.byteLength);
      maybeSweep();
      const ttl = ttlOf(o);
      const statements: Statement[] = [];
      let part: unknown[] = [];
      let bytes = 0;
      const flush = () => {
        if (part.length) statements.push([upsertMany(part.length / W), part]);
        part = [];
        bytes = 0;
      };
      for (const [key, value] of rows) {
        if (part.length / W >= ROWS_PER_STATEMENT || (bytes > 0 && bytes + value.byteLength > BYTES_PER_STATEMENT))
          flush();
        part.push(...row(key, value, ttl));
        bytes += value.byteLength + key.length;
      }
      flush();
      await atomically(statements);
      notifier?.add(
        "put",
        rows.map(([key]) => key),
      );
    },
    async deleteMany(keys) {
      const parts = chunks([...new Set(keys)], KEYS_PER_STATEMENT);
      await atomically(parts.map((part) => [deleteMany(part.length), part]));
      notifier?.add("delete", keys);
    },
    async sweep() {
      let removed = 0;
      for (;;) {
        const { affected } = await run(sql.sweep, []);
        removed += affected;
        if (affected < SWEEP_LIMIT) return removed;
      }
    },
    async watch(prefix, emit, signal) {
      if (!conn) await open();
      if (!dialect.listen)
        return pollTable({ dialect, table: T, alive, run }, prefix, opts.watchInterval, emit, signal);
      const deliver = (payload: string) => {
        const event = parsePayload(payload);
        if (event?.type !== "resync" && event?.key.startsWith(prefix)) emit(event);
      };
      await dialect.listen(channelOf(opts.table), deliver, () => emit({ type: "resync" }), signal).catch(failing());
    },
    async close() {
      await Promise.all([sweeping, notifier?.idle()]);
      const c = conn ?? (await connecting?.catch(() => undefined));
      conn = undefined;
      connecting = undefined;
      await c?.close();
    },
  };
  return driver;
}
