import type { Cluster } from "ioredis";
import { alreadyExists } from "../../../core/already-exists.js";
import type { Driver, DriverInfo, WriteOptions } from "../../../core/driver/contract.js";
import { ConnectionError } from "../../../core/errors.js";
import type { RedisClient, RedisNode } from "./client.js";
import { CommandTracker, createClient, toStoreError } from "./client.js";
import { asArg, INFO, PUT, stampOf, toBytes, ttlMs } from "./commands.js";
import { escapeGlob, keySlot, ownerOf, sideKey, TEMPORARY, TIMESTAMPS } from "./keys.js";
import type { RedisDriverOptions } from "./options.js";
import { optionsFromUri, resolveTarget } from "./options.js";
import { readStream, writeStream } from "./streams.js";
import { keyspaceEventsOn, linkedController, Outbox, watchChannel, watchRedis } from "./watch.js";

export const DRIVER_NAME = "redis";

export type { RedisClient, RedisDriverOptions, RedisNode };

/** Keys per MGET/MSET/DEL: bounded commands, bounded replies. */
const BATCH = 1000;
const SCAN_COUNT = 1000;

/**
 * Stores each value as a Redis string: key `k` is `prefix/k` in the uri's DB, Python anystore's
 * layout, so `redis-cli GET prefix/k` reads it and plain `SET`s read back. TTL and `ifNotExists`
 * are native (`SET PX`/`NX`); listing is `SCAN MATCH` (never `KEYS`; every master on a cluster);
 * batches are MGET/MSET/DEL per 1,000 keys (per hash slot on a cluster); streams move 1 MiB
 * GETRANGE/APPEND chunks. ioredis is imported on first use. An unreachable server fails each
 * call with `ConnectionError` within about `commandTimeout`, and the client reconnects by itself.
 * @example
 * import { createStore } from "anystore";
 * import { redisDriver } from "anystore/drivers/redis";
 * const store = createStore({ driver: redisDriver({ uri: "redis://localhost:6379/1/cache" }) });
 * await store.put("greeting", "hello", { ttl: 60 }); // SET cache/greeting hello PX 60000
 */
export function redisDriver(opts: RedisDriverOptions = {}): Driver {
  const target = resolveTarget(opts);
  const base = target.prefix === "" ? "" : `${target.prefix}/`;
  const nodes = target.nodes.map((n) => `${n.host}:${n.port}`).join(",");
  const given = (opts.client as { options?: { host?: string; port?: number; db?: number } } | undefined)?.options;
  // A given client has its own host and db; the uri then only names the prefix.
  const where = target.cluster
    ? `cluster ${nodes}`
    : given?.host
      ? `${given.host}:${given.port}/${given.db ?? 0}`
      : `${nodes}/${target.db}`;
  const stamps = opts.timestamps ?? false;
  const connectTimeout = opts.connectTimeout ?? 5000;
  const commandTimeout = opts.commandTimeout ?? 5000;
  const owned = opts.client === undefined;
  let client: RedisClient | undefined;
  let connecting: Promise<RedisClient> | undefined;
  const db = target.cluster ? 0 : (given?.db ?? target.db);
  const channel = watchChannel(db);
  /** The server sends keyspace events (watches listen to those); else writers publish to `channel`. */
  let keyspace = false;
  const watches = new Set<AbortController>();

  const raiser =
    (key?: string) =>
    (error: unknown): never => {
      throw toStoreError(error, where, key);
    };
  const raise = raiser();
  const connect = (): Promise<RedisClient> =>
    (connecting ??= (async () => {
      const c = opts.client ?? (await createClient(target, { connectTimeout, commandTimeout, ioredis: opts.ioredis }));
      // Asked once: a server that gets keyspace events enabled later is seen by stores made after.
      keyspace = await keyspaceEventsOn(c, connectTimeout + commandTimeout);
      if (owned && !isCluster(c)) tracker.watch(c, commandTimeout);
      client = c;
      return c;
    })());
  const isCluster = (c: RedisClient): c is Cluster => (c as Cluster).isCluster === true;

  /**
   * A cluster queues commands without a timeout while it (re)discovers its slots: bound them.
   * Standalone clients bound every command themselves (`commandTimeout`, also while queued).
   */
  const bounded = <T>(c: RedisClient, p: Promise<T>): Promise<T> => {
    if (!isCluster(c) || c.status === "ready") return p;
    const ms = connectTimeout + commandTimeout;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new ConnectionError(`redis at ${where} is unreachable: no answer within ${ms} ms`)),
        ms,
      );
    });
    return Promise.race([p, late]).finally(() => clearTimeout(timer));
  };
  const tracker = new CommandTracker();
  /** Runs `fn` on the client (connecting first if needed), bounded, with errors mapped. */
  const settled = <T>(value: T): T => {
    tracker.end();
    return value;
  };
  const gotBytes = (b: Buffer | null) => {
    tracker.end();
    return toBytes(b);
  };
  const run = <T>(fn: (c: RedisClient) => Promise<T>, key?: string): Promise<T> => {
    const c = client;
    if (!c) return connect().then(() => run(fn, key), raiser(key));
    tracker.start(c);
    return bounded(c, fn(c)).then(settled, (error) => {
      tracker.end();
      throw toStoreError(error, where, key);
    });
  };

  const full = (key: string) => base + key;
  const stampKey = (k: string) => sideKey(TIMESTAMPS, k);

  /** Index groups for batch commands: runs of BATCH keys, each in one hash slot on a cluster. */
  const groups = (c: RedisClient, keys: string[]): number[][] => {
    const out: number[][] = [];
    if (!isCluster(c)) {
      for (let i = 0; i < keys.length; i += BATCH)
        out.push(Array.from({ length: Math.min(BATCH, keys.length - i) }, (_, j) => i + j));
      return out;
    }
    const bySlot = new Map<number, number[]>();
    keys.forEach((k, i) => {
      const slot = keySlot(k);
      let group = bySlot.get(slot);
      if (!group || group.length >= BATCH) {
        group = [];
        bySlot.set(slot, group);
        out.push(group);
      }
      group.push(i);
    });
    return out;
  };

  /** Every node to SCAN: the client, or each master of a cluster. */
  const scanNodes = async (c: RedisClient) => {
    if (!isCluster(c)) return [c];
    if (c.status !== "ready") await bounded(c, c.ping());
    return c.nodes("master");
  };

  /** Yields the keys matching `pattern` on every node, one SCAN page ahead. */
  async function* scan(c: RedisClient, pattern: string): AsyncGenerator<string[]> {
    for (const node of await scanNodes(c).catch(raise)) {
      let page = node.scan("0", "MATCH", pattern, "COUNT", SCAN_COUNT, "TYPE", "string");
      for (;;) {
        const [cursor, keys] = await page.catch(raise);
        if (cursor !== "0") {
          page = node.scan(cursor, "MATCH", pattern, "COUNT", SCAN_COUNT, "TYPE", "string");
          page.catch(() => {}); // a failure surfaces on the next turn's await
        }
        yield keys;
        if (cursor === "0") break;
      }
    }
  }

  const put = (key: string, value: Uint8Array, o: WriteOptions): Promise<void> => {
    const k = full(key);
    const v = asArg(value);
    if (!o.ttl && !o.ifNotExists) {
      // The hot path: one plain command, value and timestamp side key together (same hash slot).
      return run(
        (c) =>
          announced(
            c,
            stamps ? c.mset(k, v, stampKey(k), stampOf(value.byteLength, o.contentType)) : c.set(k, v),
            "put",
            [k],
          ),
        key,
      ) as Promise<never>;
    }
    const args = [v, ttlMs(o.ttl), stamps ? stampOf(value.byteLength, o.contentType) : "", o.ifNotExists ? "1" : ""];
    return run((c) => PUT.run(c, [k, stampKey(k)], args), key).then((done) => {
      if (done === 0) throw alreadyExists(key);
      return announce("put", [k]);
    });
  };

  /** Publishes changed keys to the watch channel (see `Outbox`), unless the server sends keyspace events itself. */
  const outbox = new Outbox(channel);
  const announced = <T>(c: RedisClient, write: Promise<T>, type: "put" | "delete", keys: string[]): Promise<T> =>
    keyspace ? write : outbox.after(c, write, type, keys);
  const announce = (type: "put" | "delete", keys: string[]): Promise<void> =>
    keyspace || !client ? Promise.resolve() : outbox.after(client, Promise.resolve(), type, keys);

  const driver: Driver = {
    name: DRIVER_NAME,
    capabilities: {
      write: true,
      list: true,
      ttl: true,
      ifNotExists: true,
      streams: true,
      ranges: true,
      batch: true,
      paths: false,
      createdAt: false,
      watch: true,
    },

    get(key) {
      const c = client;
      if (!c) return run(async () => null).then(() => driver.get(key));
      // The hot path, without run()'s closures: one command, one continuation.
      tracker.start(c);
      return bounded(c, c.getBuffer(base + key)).then(gotBytes, (error) => {
        tracker.end();
        throw toStoreError(error, where, key);
      });
    },

    put,

    async delete(key) {
      const k = full(key);
      await run((c) => announced(c, c.del(k, stampKey(k)), "delete", [k]), key);
    },

    async has(key) {
      const k = full(key);
      return (await run((c) => c.exists(k), key)) > 0;
    },

    async info(key): Promise<DriverInfo | null> {
      const k = full(key);
      const found = (await run((c) => INFO.run(c, [k, stampKey(k)], []), key)) as [number, string?] | null;
      if (found === null) return null;
      const [size, stamp] = found;
      const info: DriverInfo = { size, createdAt: null, updatedAt: null };
      const [at, stampedSize, ...type] = stamp?.split(":") ?? [];
      if (at !== undefined && Number(stampedSize) === size) {
        info.updatedAt = new Date(Number(at));
        if (type.length > 0) info.contentType = type.join(":");
      }
      return info;
    },

    read(key, range) {
      return readStream((fn) => run(fn, key), full(key), range);
    },

    async write(key, o) {
      const k = full(key);
      const temp = sideKey(`${TEMPORARY}${Date.now().toString(36)}${Math.random().toString(36).slice(2, 10)}/`, k);
      const stamp = stamps
        ? (size: number): [string, string] => [stampKey(k), stampOf(size, o.contentType)]
        : undefined;
      const exists = () => alreadyExists(key);
      return writeStream(
        (fn) => run(fn, key),
        k,
        temp,
        { ttlMs: ttlMs(o.ttl), ifNotExists: !!o.ifNotExists, stamp, committed: () => announce("put", [k]) },
        exists,
      );
    },

    async getMany(keys) {
      const c = await run(async (c) => c);
      const ks = keys.map(full);
      const out = new Array<Uint8Array | null>(keys.length).fill(null);
      await Promise.all(
        groups(c, ks).map(async (group) => {
          const values = await run((c) => c.mgetBuffer(group.map((i) => ks[i]!)));
          group.forEach((i, j) => {
            out[i] = toBytes(values[j] ?? null);
          });
        }),
      );
      return out;
    },

    async putMany(entries, o) {
      if (entries.length === 0) return;
      const c = await run(async (c) => c);
      const ks = entries.map(([key]) => full(key));
      const px = ttlMs(o.ttl);
      await Promise.all(
        groups(c, ks).map((group) => {
          if (px === 0) {
            const args: Array<string | Buffer> = [];
            for (const i of group) {
              const value = entries[i]![1];
              args.push(ks[i]!, asArg(value));
              if (stamps) args.push(stampKey(ks[i]!), stampOf(value.byteLength, o.contentType));
            }
            return run((c) =>
              announced(
                c,
                c.mset(args),
                "put",
                group.map((i) => ks[i]!),
              ),
            );
          }
          return run(async (c) => {
            const pipeline = c.pipeline();
            for (const i of group) {
              const value = entries[i]![1];
              pipeline.set(ks[i]!, asArg(value), "PX", px);
              if (stamps) pipeline.set(stampKey(ks[i]!), stampOf(value.byteLength, o.contentType), "PX", px);
            }
            for (const [error] of (await pipeline.exec()) ?? []) if (error) throw error;
          }).then(() =>
            announce(
              "put",
              group.map((i) => ks[i]!),
            ),
          );
        }),
      );
    },

    async deleteMany(keys) {
      if (keys.length === 0) return;
      const c = await run(async (c) => c);
      const ks = keys.map(full);
      await Promise.all(
        groups(c, ks).map((group) =>
          run((c) =>
            announced(
              c,
              c.del(group.flatMap((i) => [ks[i]!, stampKey(ks[i]!)])),
              "delete",
              group.map((i) => ks[i]!),
            ),
          ),
        ),
      );
    },

    async *list(prefix) {
      const c = await run(async (c) => c);
      const cut = base.length;
      for await (const keys of scan(c, `${escapeGlob(base + prefix)}*`)) {
        yield cut === 0 ? keys : keys.map((k) => k.slice(cut));
      }
    },

    /** Values expire natively; this removes timestamp side keys whose value is gone (deleted by another client). */
    async sweep() {
      const c = await run(async (c) => c);
      let removed = 0;
      for await (const stamps of scan(c, `${escapeGlob(TIMESTAMPS)}*`)) {
        const owners = stamps.map((s) => ownerOf(TIMESTAMPS, s));
        const checks = await Promise.all(owners.map((k) => (k?.startsWith(base) ? run((c) => c.exists(k)) : 1)));
        const orphans = stamps.filter((_, i) => checks[i] === 0);
        await Promise.all(orphans.map((s) => run((c) => c.del(s))));
        removed += orphans.length;
      }
      return removed;
    },

    async watch(prefix, emit, signal) {
      const c = await run(async (c) => c);
      const own = linkedController(signal, watches);
      await watchRedis({ client: c, keyspace, db, base }, prefix, emit, own.signal).catch((error) => {
        own.abort();
        throw toStoreError(error, where);
      });
    },

    async close() {
      for (const own of [...watches]) own.abort();
      tracker.stop();
      const c = client;
      client = undefined;
      connecting = undefined;
      if (!owned || !c) return;
      const quit = c.quit().catch(() => {});
      const late = new Promise((resolve) => setTimeout(resolve, 1000).unref());
      await Promise.race([quit, late]);
      c.disconnect();
    },
  };
  return driver;
}

/**
 * The factory the uri registry calls for `redis://`, `rediss://` and `redis+cluster://`. Reads the
 * driver options `client`, `cluster`, `connectTimeout`, `commandTimeout`, `timestamps` and `ioredis`
 * from the store options (the store's own `prefix` option is applied by the store, on top of the uri's).
 * @example
 * createStore("redis://localhost:6379/1/cache", { commandTimeout: 2000 });
 */
export function redisDriverFromUri(uri: string, options: Record<string, unknown>): Driver {
  return redisDriver(optionsFromUri(uri, options));
}
