/**
 * Streamed reads and writes for the redis driver, so a large value never sits whole in Node:
 * reads are GETRANGE chunks (one prefetched), writes APPEND chunks to a hidden temporary key
 * in the target's hash slot that a script renames onto the key on close.
 */
import type { ByteRange } from "../../../core/driver/contract.js";
import { AnystoreError } from "../../../core/errors.js";
import type { RedisClient } from "./client.js";
import { Script } from "./client.js";

/** Bytes per GETRANGE and per APPEND: large enough for throughput, small enough for memory. */
const CHUNK = 1 << 20;
/** A temporary key outlives a crashed writer by at most this long (refreshed while writing). */
const TEMP_TTL_MS = 60 * 60 * 1000;

/** nil for a missing key, else `{size, first bytes}`: existence, size and the first chunk in one round trip. */
const HEAD = new Script(`if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local size = redis.call('STRLEN', KEYS[1])
local first = tonumber(ARGV[1])
local last = math.min(tonumber(ARGV[2]), size) - 1
if last < first then return {size, ''} end
return {size, redis.call('GETRANGE', KEYS[1], first, last)}`);

/**
 * Moves a finished temporary key (KEYS[1]) onto the key (KEYS[2]) atomically, with its ttl
 * (ARGV[2] ms, 0 for none) and timestamp side key (KEYS[3] = ARGV[3], skipped when empty);
 * ARGV[1] is the length written, checked so an expired or clobbered temporary key is an error.
 * ARGV[4] = '1' refuses an existing key (returns 0).
 */
const COMMIT = new Script(`local size = tonumber(ARGV[1])
if redis.call('EXISTS', KEYS[1]) == 0 then
  if size > 0 then return redis.error_reply('ERR anystore: the temporary key of a streamed write vanished') end
  if ARGV[4] == '1' and redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
  redis.call('SET', KEYS[2], '')
else
  if redis.call('STRLEN', KEYS[1]) ~= size then
    redis.call('DEL', KEYS[1])
    return redis.error_reply('ERR anystore: the temporary key of a streamed write was changed by someone else')
  end
  if ARGV[4] == '1' and redis.call('EXISTS', KEYS[2]) == 1 then redis.call('DEL', KEYS[1]) return 0 end
  redis.call('RENAME', KEYS[1], KEYS[2])
end
local ttl = tonumber(ARGV[2])
if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) else redis.call('PERSIST', KEYS[2]) end
if ARGV[3] ~= '' then
  if ttl > 0 then redis.call('SET', KEYS[3], ARGV[3], 'PX', ttl) else redis.call('SET', KEYS[3], ARGV[3]) end
end
return 1`);

/** Runs commands on the driver's client: connected, tracked, bounded, errors mapped. */
export type Exec = <T>(fn: (client: RedisClient) => Promise<T>) => Promise<T>;

const view = (b: Buffer) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
const handled = <T>(p: Promise<T>): Promise<T> => {
  p.catch(() => {});
  return p;
};

/**
 * A buffer ioredis may keep. A ready standalone client copies a command's Buffer arguments into
 * the bytes it writes at once (Command.toWritable), so a borrowed buffer is free again when the
 * call returns; a queued command (connecting, or a cluster) keeps the reference: copy it then.
 */
const owned = (client: RedisClient, data: Buffer): Buffer =>
  client.status === "ready" && (client as { isCluster?: boolean }).isCluster !== true ? data : Buffer.from(data);

/** A stream of a key's bytes (or a range), or null when the key is missing. */
export async function readStream(
  exec: Exec,
  key: string,
  range: ByteRange | undefined,
): Promise<ReadableStream<Uint8Array> | null> {
  const start = range?.start ?? 0;
  const wanted = range?.end ?? Infinity;
  const head = (await exec((c) => HEAD.runBuffer(c, [key], [start, Math.min(wanted, start + CHUNK)]))) as
    | [number, Buffer]
    | null;
  if (head === null) return null;
  const [size, first] = head;
  const end = Math.min(wanted, size);
  let position = start + first.byteLength;
  const fetch = (): Promise<Buffer> | undefined => {
    if (position >= end) return undefined;
    const from = position;
    const to = Math.min(end, from + CHUNK);
    position = to;
    return handled(
      exec((c) => c.getrangeBuffer(key, from, to - 1)).then((chunk) => {
        // A value replaced or deleted mid-read: fail rather than hand out a mix of two values.
        if (chunk.byteLength !== to - from)
          throw new AnystoreError(`the value changed while it was being read`, { key });
        return chunk;
      }),
    );
  };
  let pending: Buffer | undefined = first.byteLength > 0 ? first : undefined;
  let next = fetch();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (pending) {
          controller.enqueue(view(pending));
          pending = undefined;
          return;
        }
        if (!next) return controller.close();
        const chunk = await next;
        next = fetch(); // the next chunk travels while this one is consumed
        controller.enqueue(view(chunk));
      },
      cancel() {
        next = undefined;
      },
    },
    { highWaterMark: 0 },
  );
}

export interface CommitOptions {
  ttlMs: number;
  ifNotExists: boolean;
  /** The timestamp side key and its value for a given size, or undefined to keep none. */
  stamp?: ((size: number) => [string, string]) | undefined;
  /** Called once the value is in place (the watch channel hears of it). */
  committed?: () => Promise<void>;
}

/**
 * A writable that APPENDs to `temp` (in `key`'s hash slot) and, on close, renames it onto `key`.
 * Abort or failure deletes the temporary key and leaves the old value. At most two chunks
 * are held: one filling, one on the wire.
 */
export function writeStream(
  exec: Exec,
  key: string,
  temp: string,
  opts: CommitOptions,
  exists: () => AnystoreError,
): WritableStream<Uint8Array> {
  let parts: Buffer[] = [];
  let partBytes = 0;
  let length = 0;
  let inflight: Promise<unknown> = Promise.resolve();
  let refreshedAt = 0;
  /** The only part is the caller's own chunk, not a copy. */
  let lent = false;

  const flush = async () => {
    if (partBytes === 0) return;
    const data = parts.length === 1 ? parts[0]! : Buffer.concat(parts, partBytes);
    const borrowed = parts.length === 1 && lent;
    parts = [];
    partBytes = 0;
    await inflight;
    length += data.byteLength;
    const expected = length;
    const now = Date.now();
    let issued = false;
    const arg = (c: RedisClient) => {
      issued = true;
      return borrowed ? owned(c, data) : data;
    };
    let sent: Promise<unknown>;
    if (expected === data.byteLength) {
      // The first chunk creates the temporary key with its expiry in one command: a crashed writer leaks nothing.
      sent = exec((c) => c.set(temp, arg(c), "PX", TEMP_TTL_MS, "NX")).then((ok) => {
        if (ok !== "OK") throw new AnystoreError("a temporary key of a streamed write already existed", { key });
      });
      refreshedAt = now;
    } else {
      const refresh = now - refreshedAt > TEMP_TTL_MS / 4 ? exec((c) => c.pexpire(temp, TEMP_TTL_MS)) : undefined;
      if (refresh) refreshedAt = now;
      sent = Promise.all([exec((c) => c.append(temp, arg(c))), refresh]).then(([n]) => {
        if (n !== expected)
          throw new AnystoreError("the temporary key of a streamed write was changed by someone else", { key });
      });
    }
    inflight = handled(sent);
    // Not issued yet (the client is still connecting): the caller's buffer is ours until it is.
    if (borrowed && !issued) await inflight;
  };

  const discard = async () => {
    parts = [];
    partBytes = 0;
    await inflight.catch(() => {});
    await exec((c) => c.del(temp)).catch(() => {}); // best effort: it expires on its own anyway
  };

  return new WritableStream<Uint8Array>({
    async write(chunk) {
      // A whole chunk goes out before write resolves: borrowed, no copy (see `owned`). Smaller
      // pieces wait for more, and the caller may reuse its buffer once write resolves: copied.
      lent = partBytes === 0 && chunk.byteLength >= CHUNK;
      parts.push(lent ? Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength) : Buffer.from(chunk));
      partBytes += chunk.byteLength;
      if (partBytes < CHUNK) return;
      try {
        await flush();
      } catch (error) {
        await discard();
        throw error;
      }
    },
    async close() {
      try {
        await flush();
        await inflight;
        const [side, stamp] = opts.stamp?.(length) ?? [temp, ""];
        const done = await exec((c) =>
          COMMIT.run(c, [temp, key, side], [length, opts.ttlMs, stamp, opts.ifNotExists ? "1" : ""]),
        );
        if (done === 0) throw exists();
        await opts.committed?.();
      } catch (error) {
        await discard();
        throw error;
      }
    },
    abort: discard,
  });
}
