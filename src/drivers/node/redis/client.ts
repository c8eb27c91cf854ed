/**
 * The redis driver's connection side: uri parsing, an ioredis client (or Cluster) tuned so that
 * nothing hangs, error mapping, and Lua scripts run by SHA with a fallback to EVAL.
 */
import { createHash } from "node:crypto";
import type { Cluster, ClusterOptions, Redis, RedisOptions } from "ioredis";
import { AnystoreError, ConnectionError, InvalidArgumentError, isAnystoreError } from "../../../core/errors.js";
import { normalizePrefix } from "../../../core/keys.js";
import { importPeer } from "../peer.js";

export type RedisClient = Redis | Cluster;

export interface RedisNode {
  host: string;
  port: number;
}

/** What a redis uri names. */
export interface RedisTarget {
  nodes: RedisNode[];
  cluster: boolean;
  tls: boolean;
  db: number;
  username?: string;
  password?: string;
  /** The key prefix, without a trailing `/` (`""` for none). */
  prefix: string;
}

const URI = /^(redis|rediss|redis\+cluster|rediss\+cluster):\/\/([^/?#]*)([^?#]*)([?#].*)?$/i;

/**
 * Parses `redis://[user:pass@]host[:port][/db][/prefix]`, `rediss://...` and
 * `redis+cluster://h1:p1,h2:p2[/prefix]` (a cluster has no DB: its whole path is the prefix).
 * @example
 * parseRedisUri("redis://localhost/2/cache") // { nodes: [{ host: "localhost", port: 6379 }], db: 2, prefix: "cache", ... }
 */
export function parseRedisUri(uri: string): RedisTarget {
  const match = URI.exec(uri);
  if (!match) throw new InvalidArgumentError(`not a redis uri: ${uri} (use redis://host[:port][/db][/prefix])`);
  const [, scheme = "", authority = "", path = "", rest] = match;
  if (rest)
    throw new InvalidArgumentError(`redis uris take no query or fragment: ${uri}; percent-encode ? and # in a prefix`);
  const cluster = scheme.toLowerCase().endsWith("+cluster");
  const at = authority.lastIndexOf("@");
  const hosts = at === -1 ? authority : authority.slice(at + 1);
  const target: RedisTarget = {
    nodes: (hosts === "" ? ["127.0.0.1"] : hosts.split(",")).map(parseNode),
    cluster,
    tls: scheme.toLowerCase().startsWith("rediss"),
    db: 0,
    prefix: "",
  };
  if (at !== -1) {
    const userinfo = authority.slice(0, at);
    const colon = userinfo.indexOf(":");
    const user = decodeURIComponent(colon === -1 ? userinfo : userinfo.slice(0, colon));
    if (user !== "") target.username = user;
    if (colon !== -1) target.password = decodeURIComponent(userinfo.slice(colon + 1));
  }
  const segments = path
    .split("/")
    .filter((s) => s !== "")
    .map((s) => decodeURIComponent(s));
  if (!cluster && segments.length > 0 && /^\d+$/.test(segments[0]!)) target.db = Number(segments.shift());
  target.prefix = checkPrefix(segments.join("/"), uri);
  return target;
}

/** A valid key prefix (the key rules apply: no `..`, no `.anystore` segment), without a trailing `/`. */
export function checkPrefix(prefix: string, uri: string): string {
  try {
    return normalizePrefix(prefix, uri);
  } catch (error) {
    throw new InvalidArgumentError(`invalid redis key prefix ${JSON.stringify(prefix)}`, { store: uri, cause: error });
  }
}

function parseNode(text: string): RedisNode {
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(text); // [::1]:6379
  const plain = /^([^:]*)(?::(\d+))?$/.exec(text);
  const found = bracket ?? plain;
  if (!found) throw new InvalidArgumentError(`bad redis host ${JSON.stringify(text)}: use host[:port]`);
  return { host: found[1] || "127.0.0.1", port: found[2] ? Number(found[2]) : 6379 };
}

export interface ConnectOptions {
  connectTimeout: number;
  commandTimeout: number;
  /** Extra ioredis options, applied last. */
  ioredis?: Record<string, unknown> | undefined;
}

/** Reconnects forever (the same store works again when the server returns), at most a second apart. */
const retry = (times: number) => Math.min(50 * 2 ** Math.min(times, 5), 1000);

/**
 * A new ioredis client for a target. Commands fail instead of waiting: queued commands are
 * flushed at the first failed reconnect (`maxRetriesPerRequest: 0`), and every command has a
 * timeout; meanwhile the client keeps reconnecting in the background.
 */
export async function createClient(target: RedisTarget, opts: ConnectOptions): Promise<RedisClient> {
  const { default: Redis, Cluster } = await importPeer(
    () => import("ioredis"),
    "ioredis",
    "redis:// stores",
    "the Redis client",
  );
  const common: RedisOptions = {
    connectTimeout: opts.connectTimeout,
    // Standalone clients get the driver's watchdog instead (see CommandTracker).
    ...(target.cluster && { commandTimeout: opts.commandTimeout }),
    maxRetriesPerRequest: 0,
    enableOfflineQueue: true,
    retryStrategy: retry,
    lazyConnect: true,
    ...(target.username !== undefined && { username: target.username }),
    ...(target.password !== undefined && { password: target.password }),
    ...(target.tls && { tls: {} }),
  };
  let client: RedisClient;
  if (target.cluster) {
    const options: ClusterOptions = {
      redisOptions: common,
      clusterRetryStrategy: retry,
      enableOfflineQueue: true,
      lazyConnect: true,
      slotsRefreshTimeout: opts.connectTimeout,
      ...(opts.ioredis as ClusterOptions),
    };
    client = new Cluster(target.nodes, options);
  } else {
    const node = target.nodes[0]!;
    client = new Redis({
      ...common,
      host: node.host,
      port: node.port,
      db: target.db,
      ...(opts.ioredis as RedisOptions),
    });
  }
  // Connection errors surface through the commands that fail; without a listener ioredis would log each one.
  client.on("error", () => {});
  return client;
}

const UNREACHABLE =
  /Connection is closed|Command timed out|max retries per request|Stream isn't writeable|None of startup nodes|Cluster isn't ready|Failed to refresh slots|All nodes failed|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EPIPE|EAI_AGAIN|connect ETIMEDOUT|timed out before/i;
/** Server replies that mean "not available right now" rather than "this failed". */
const UNAVAILABLE = /^(LOADING|CLUSTERDOWN|TRYAGAIN|MASTERDOWN|BUSY)\b/;

/** Maps an ioredis failure to a typed error: unreachable -> ConnectionError, anything else -> AnystoreError with the cause. */
export function toStoreError(error: unknown, where: string, key?: string): AnystoreError {
  if (isAnystoreError(error)) return error;
  const e = error as { name?: string; message?: string; code?: string };
  const message = e?.message ?? String(error);
  const details = { key, cause: error };
  if (e?.name === "ReplyError" || e?.name === "ClusterReplyError") {
    if (UNAVAILABLE.test(message))
      return new ConnectionError(`redis at ${where} is not available: ${message}`, details);
    return new AnystoreError(`redis at ${where}: ${message}`, details);
  }
  if (
    e?.name === "MaxRetriesPerRequestError" ||
    e?.name === "ClusterAllFailedError" ||
    UNREACHABLE.test(message) ||
    UNREACHABLE.test(e?.code ?? "")
  ) {
    return new ConnectionError(`redis at ${where} is unreachable: ${message}`, details);
  }
  return new AnystoreError(`redis at ${where}: ${message}`, details);
}

/**
 * Bytes the socket has not yet handed to the kernel. Node's own socket timeout reads the same
 * handle field to see a large write progress: `writableLength` counts a chunk whole until all of
 * it is written.
 */
const unsent = (stream: { writableLength: number } | undefined | null): number =>
  (stream as { _handle?: { writeQueueSize?: number } } | undefined)?._handle?.writeQueueSize ??
  stream?.writableLength ??
  0;

/**
 * Follows the commands in flight on one client, for two jobs:
 * - coalescing: commands issued in one tick while others are in flight go out in one socket write
 *   (ioredis writes each command on its own, one syscall each on both ends; under concurrency that
 *   dominates). A lone command is written at once, so sequential calls never wait.
 * - a watchdog: when commands are in flight and the connection has been silent for `silenceMs`
 *   (no command completed, no byte received, none of the buffered bytes taken by the server),
 *   the server hangs; dropping the connection fails them all (ConnectionError) and ioredis
 *   reconnects. A large value moving slowly is progress, so it never trips the watchdog. One
 *   interval per client instead of ioredis' `commandTimeout`, which arms a timer per command
 *   (latency on every call) and bounds a whole command, however much it moves.
 */
export class CommandTracker {
  #inflight = 0;
  #done = 0;
  #corked: { uncork(): void } | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  readonly #uncork = () => {
    const stream = this.#corked;
    this.#corked = undefined;
    stream?.uncork();
  };

  start(client: RedisClient): void {
    if (
      this.#inflight++ === 0 ||
      this.#corked !== undefined ||
      client.status !== "ready" ||
      (client as Cluster).isCluster
    )
      return;
    const stream = (client as Redis).stream;
    if (!stream || typeof stream.cork !== "function") return;
    stream.cork();
    this.#corked = stream;
    process.nextTick(this.#uncork); // after every command of this tick has been queued
  }

  end(): void {
    this.#inflight--;
    this.#done++;
  }

  /** Starts the watchdog on a standalone client the driver owns. */
  watch(client: Redis, silenceMs: number): void {
    const every = Math.max(20, Math.min(500, Math.floor(silenceMs / 10)));
    let heard = Date.now();
    let seen = { done: -1, read: -1, buffered: -1, stream: undefined as unknown };
    this.#timer = setInterval(() => {
      const now = Date.now();
      const { stream } = client;
      const state = { done: this.#done, read: stream?.bytesRead ?? 0, buffered: unsent(stream), stream };
      const moved =
        state.done !== seen.done ||
        state.read !== seen.read ||
        state.buffered !== seen.buffered ||
        state.stream !== seen.stream;
      seen = state;
      if (this.#inflight === 0 || moved) {
        heard = now;
        return;
      }
      // While reconnecting, the pending attempt settles the queued commands itself.
      if (now - heard <= silenceMs || client.status === "reconnecting" || client.status === "end") return;
      heard = now;
      // Destroyed rather than ended: a frozen server never acknowledges a graceful close.
      if (stream) stream.destroy();
      else client.disconnect(true);
    }, every);
    this.#timer.unref?.();
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

type Arg = string | number | Buffer;

/** A Lua script run by SHA (one short command), loaded with EVAL when the server does not know it yet. */
export class Script {
  readonly sha: string;
  constructor(readonly lua: string) {
    this.sha = createHash("sha1").update(lua).digest("hex");
  }

  run(client: RedisClient, keys: string[], args: Arg[]): Promise<unknown> {
    return client.evalsha(this.sha, keys.length, ...keys, ...args).catch((error: Error) => {
      if (!String(error?.message).startsWith("NOSCRIPT")) throw error;
      return client.eval(this.lua, keys.length, ...keys, ...args);
    });
  }

  runBuffer(client: RedisClient, keys: string[], args: Arg[]): Promise<unknown> {
    return client.callBuffer("evalsha", this.sha, keys.length, ...keys, ...args).catch((error: Error) => {
      if (!String(error?.message).startsWith("NOSCRIPT")) throw error;
      return client.callBuffer("eval", this.lua, keys.length, ...keys, ...args);
    });
  }
}
