/**
 * The redis driver's change feed (SPEC 11). Two sources, chosen once per client:
 * - keyspace notifications, when the server sends them (`notify-keyspace-events` has `K` and the
 *   string and generic events, e.g. `KEA`): every writer is seen, anystore or not, and writers
 *   publish nothing;
 * - else a pub/sub channel per database that every anystore writer PUBLISHes its changed keys to.
 * A watch holds its own subscriber connection (one per master for keyspace events on a cluster,
 * since those are node-local); when one reconnects, events may have been lost: `resync`.
 */
import type { Cluster, Redis } from "ioredis";
import type { DriverWatchEvent } from "../../../core/driver/contract.js";
import type { RedisClient } from "./client.js";
import { escapeGlob } from "./keys.js";

type Emit = (event: DriverWatchEvent) => void;

/** Keys in a channel message are separated by NUL, which no key contains. */
const SEPARATOR = "\0";

/** The channel anystore writers publish to, one per database (pub/sub itself ignores databases). */
export const watchChannel = (db: number): string => `.anystore:watch@${db}`;

/** A channel message: `p` or `d`, then the full Redis keys. */
export const watchMessage = (type: "put" | "delete", keys: string[]): string =>
  (type === "put" ? "p" : "d") + SEPARATOR + keys.join(SEPARATOR);

/** Keys per channel message: a subscriber's output buffer on the server stays small. */
const KEYS_PER_MESSAGE = 1000;

/**
 * Announces writes on the watch channel. On a standalone server the changes of one tick go out as
 * one PUBLISH once the tick is over: after those writes, on the same connection, so a watcher never
 * hears of a change before it is readable, and no write waits for it. Runs of one type keep their
 * order, so one key's events keep the order of its writes. On a cluster each write's PUBLISH
 * waits for the write, and every PUBLISH goes through one node (see `publisherOf`).
 */
export class Outbox {
  #runs: Array<{ type: "put" | "delete"; keys: string[] }> = [];
  #client: Redis | undefined;
  constructor(readonly channel: string) {}

  /** `write`, announced once done (cluster) or after its tick (standalone). */
  after<T>(client: RedisClient, write: Promise<T>, type: "put" | "delete", keys: string[]): Promise<T> {
    if (isCluster(client))
      return write.then((result) =>
        publisherOf(client)
          .publish(this.channel, watchMessage(type, keys))
          .then(() => result),
      );
    this.add(client, type, keys);
    return write;
  }

  add(client: Redis, type: "put" | "delete", keys: string[]): void {
    if (this.#runs.length === 0) {
      this.#client = client;
      process.nextTick(this.#flush);
    }
    const last = this.#runs.at(-1);
    if (last?.type === type) for (const key of keys) last.keys.push(key);
    else this.#runs.push({ type, keys: [...keys] });
  }

  readonly #flush = () => {
    const client = this.#client!;
    for (const { type, keys } of this.#runs.splice(0)) {
      for (let i = 0; i < keys.length; i += KEYS_PER_MESSAGE) {
        // A lost PUBLISH means a lost connection, which the watcher's subscriber sees too (resync).
        client.publish(this.channel, watchMessage(type, keys.slice(i, i + KEYS_PER_MESSAGE))).catch(() => {});
      }
    }
  };
}

const isCluster = (c: RedisClient): c is Cluster => (c as Cluster).isCluster === true;

/**
 * The node a cluster client publishes through: the same master for every writer (the first by
 * address). ioredis sends a PUBLISH to a random node, and messages published on two nodes reach a
 * subscriber over two links of the cluster bus, so a put and then a delete could arrive swapped.
 */
function publisherOf(cluster: Cluster): Redis | Cluster {
  const address = (n: Redis) => `${n.options.host}:${n.options.port}`;
  const masters = cluster.nodes("master");
  return masters.length === 0 ? cluster : masters.reduce((a, b) => (address(b) < address(a) ? b : a));
}

/** True when a `notify-keyspace-events` value sends the keyspace events of sets, deletes and renames. */
export function sendsKeyspaceEvents(flags: string): boolean {
  return flags.includes("K") && (flags.includes("A") || (flags.includes("g") && flags.includes("$")));
}

/**
 * Whether every node of the client sends keyspace events. Asked once per client; a server that
 * refuses CONFIG (managed Redis often does) counts as not sending them.
 */
export async function keyspaceEventsOn(c: RedisClient, timeoutMs: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("no answer to CONFIG GET")), timeoutMs);
  });
  try {
    const nodes = isCluster(c) ? await Promise.race([c.ping().then(() => c.nodes("master")), late]) : [c];
    const replies = await Promise.race([
      Promise.all(nodes.map((node) => node.config("GET", "notify-keyspace-events") as Promise<string[]>)),
      late,
    ]);
    return replies.every((reply) => sendsKeyspaceEvents(reply[1] ?? ""));
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/** Keyspace events that mean a key now holds a (new) value, and those that mean it is gone. */
const PUT_EVENTS = new Set(["set", "append", "setrange", "rename_to", "incrby", "incrbyfloat", "restore", "copy_to"]);
const DELETE_EVENTS = new Set(["del", "expired", "evicted", "rename_from"]);

/** A controller aborted with `signal` or by the driver's close (`live` holds those still running). */
export function linkedController(signal: AbortSignal, live: Set<AbortController>): AbortController {
  const own = new AbortController();
  const stop = () => own.abort();
  signal.addEventListener("abort", stop, { once: true });
  live.add(own);
  own.signal.addEventListener("abort", () => {
    live.delete(own);
    signal.removeEventListener("abort", stop);
  });
  if (signal.aborted) stop();
  return own;
}

export interface WatchSource {
  /** The store's connected client. */
  client: RedisClient;
  /** Whether the server sends keyspace events (see `keyspaceEventsOn`). */
  keyspace: boolean;
  db: number;
  /** The driver's key prefix (`""` or ending in `/`): driver keys are Redis keys without it. */
  base: string;
}

/** Subscribes for changes of keys under `base + prefix`; resolves once subscribed. */
export async function watchRedis(source: WatchSource, prefix: string, emit: Emit, signal: AbortSignal): Promise<void> {
  const { client, keyspace, db, base } = source;
  const under = base + prefix;
  const report = (type: "put" | "delete", redisKey: string) => {
    if (redisKey.startsWith(under)) emit({ type, key: redisKey.slice(base.length) });
  };
  const subscribers: RedisClient[] = keyspace
    ? isCluster(client)
      ? client.nodes("master").map((node) => node.duplicate())
      : [client.duplicate()]
    : [client.duplicate()];
  const free = () => {
    for (const s of subscribers) s.disconnect();
  };
  signal.addEventListener("abort", free, { once: true });
  const channelPrefix = `__keyspace@${keyspace && isCluster(client) ? 0 : db}__:`;
  try {
    await Promise.all(
      subscribers.map(async (s) => {
        s.on("error", () => {}); // a lost connection reconnects; the gap is reported as resync
        if (keyspace) {
          s.on("pmessage", (_pattern: string, channel: string, event: string) => {
            const key = channel.slice(channelPrefix.length);
            if (PUT_EVENTS.has(event)) report("put", key);
            else if (DELETE_EVENTS.has(event)) report("delete", key);
          });
          await (s as Redis).psubscribe(`${channelPrefix}${escapeGlob(under)}*`);
        } else {
          s.on("message", (_channel: string, message: string) => {
            const [type, ...keys] = message.split(SEPARATOR);
            for (const key of keys) report(type === "p" ? "put" : "delete", key);
          });
          await (s as Redis).subscribe(watchChannel(db));
        }
        // Subscribed: any later "ready" is a reconnect. ioredis renews the subscription first; a PING
        // answered after it means the renewal is in place, so a consumer that lists again misses nothing.
        s.on("ready", () => {
          if (isCluster(s)) emit({ type: "resync" });
          else
            s.ping().then(
              () => emit({ type: "resync" }),
              () => emit({ type: "resync" }),
            );
        });
      }),
    );
  } catch (error) {
    signal.removeEventListener("abort", free);
    free();
    throw error;
  }
  if (signal.aborted) free();
}
