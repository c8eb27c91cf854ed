/**
 * The redis driver's options: what they mean, the target (nodes, db, prefix) they name, and how
 * a uri store's options become them.
 */

import { InvalidArgumentError } from "../../../core/errors.js";
import type { RedisClient, RedisNode, RedisTarget } from "./client.js";
import { checkPrefix, parseRedisUri } from "./client.js";

export interface RedisDriverOptions {
  /**
   * `redis://[user:pass@]host[:port][/db][/prefix]`, `rediss://...` (TLS) or
   * `redis+cluster://h1:p1,h2:p2[/prefix]`.
   * @default "redis://127.0.0.1:6379"
   */
  uri?: string;
  /** An existing ioredis `Redis` or `Cluster` to use (its own host, db and options apply; the uri then names only the prefix); the driver never closes it. @default undefined */
  client?: RedisClient;
  /** A Redis Cluster: `true` takes the uri's hosts as startup nodes, or give the nodes (`"host:port"` or `{ host, port }`). @default false */
  cluster?: boolean | Array<string | RedisNode>;
  /** The database number (standalone servers only). @default the uri's, else 0 */
  db?: number;
  /** Key prefix: the value of key `k` is the Redis string `prefix/k` (Python anystore's layout). @default the uri's path, else none */
  prefix?: string;
  /** Milliseconds to establish a connection before the attempt counts as failed. @default 5000 */
  connectTimeout?: number;
  /**
   * Milliseconds the server may stay silent (no reply, no bytes moving either way) while calls
   * wait; then they fail with `ConnectionError`. A large value that keeps moving never times out.
   * On a cluster it bounds each command whole, so there it must cover the largest value read or
   * written whole (streams move 1 MiB per command).
   * @default 5000
   */
  commandTimeout?: number;
  /**
   * Keep each value's write time (and content type) in a hidden side key `.anystore/t/{key}`, so
   * `info` reports `updatedAt`. Costs a second key per value (each put writes two keys, and a
   * listing SCANs twice as many); off, puts are plain `SET`s as in Python anystore.
   * @default false
   */
  timestamps?: boolean;
  /** Extra ioredis options (`RedisOptions`, or `ClusterOptions` for a cluster), applied last. @default undefined */
  ioredis?: Record<string, unknown>;
}

const DEFAULT_URI = "redis://127.0.0.1:6379";

/** The target a set of options names: the uri, with `cluster`, `db` and `prefix` applied on top. */
export function resolveTarget(opts: RedisDriverOptions): RedisTarget {
  const target = parseRedisUri(opts.uri ?? DEFAULT_URI);
  if (Array.isArray(opts.cluster)) {
    const uri = `redis+cluster://${opts.cluster.map((n) => (typeof n === "string" ? n : `${n.host}:${n.port}`)).join(",")}`;
    target.nodes = parseRedisUri(uri).nodes;
  }
  if (opts.cluster) target.cluster = true;
  if (opts.db !== undefined) {
    if (!Number.isInteger(opts.db) || opts.db < 0)
      throw new InvalidArgumentError(`redis db must be an integer >= 0, got ${opts.db}`);
    target.db = opts.db;
  }
  if (target.cluster && target.db !== 0) throw new InvalidArgumentError("a Redis Cluster has only db 0");
  if (opts.prefix !== undefined) target.prefix = checkPrefix(opts.prefix, opts.uri ?? DEFAULT_URI);
  return target;
}

const pick = <T>(options: Record<string, unknown>, name: string, type: string): T | undefined => {
  const value = options[name];
  if (value === undefined) return undefined;
  if (typeof value !== type)
    throw new InvalidArgumentError(`redis option ${name} must be a ${type}, got ${typeof value}`);
  return value as T;
};

/** The driver options a uri store's options name (`client`, `cluster`, timeouts, `timestamps`, `ioredis`). */
export function optionsFromUri(uri: string, options: Record<string, unknown>): RedisDriverOptions {
  const cluster = options.cluster;
  if (cluster !== undefined && typeof cluster !== "boolean" && !Array.isArray(cluster)) {
    throw new InvalidArgumentError("redis option cluster must be true or a list of nodes");
  }
  const client = options.client;
  if (client !== undefined && typeof (client as { getBuffer?: unknown })?.getBuffer !== "function") {
    throw new InvalidArgumentError("redis option client must be an ioredis Redis or Cluster");
  }
  const opts: RedisDriverOptions = { uri };
  if (client !== undefined) opts.client = client as RedisClient;
  if (cluster !== undefined) opts.cluster = cluster as RedisDriverOptions["cluster"];
  const connectTimeout = pick<number>(options, "connectTimeout", "number");
  const commandTimeout = pick<number>(options, "commandTimeout", "number");
  const timestamps = pick<boolean>(options, "timestamps", "boolean");
  const ioredis = pick<Record<string, unknown>>(options, "ioredis", "object");
  if (connectTimeout !== undefined) opts.connectTimeout = connectTimeout;
  if (commandTimeout !== undefined) opts.commandTimeout = commandTimeout;
  if (timestamps !== undefined) opts.timestamps = timestamps;
  if (ioredis !== undefined) opts.ioredis = ioredis;
  return opts;
}
