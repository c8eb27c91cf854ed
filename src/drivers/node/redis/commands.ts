/**
 * What the redis driver sends: its Lua scripts (run by SHA, see client.ts) and how values, ttls
 * and timestamps travel as command arguments.
 */

import { isUtf8 } from "node:buffer";
import { Script } from "./client.js";

/** nil for a missing key, else `{size}` or `{size, stamp}`: info without reading the value. */
export const INFO = new Script(`if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local stamp = redis.call('GET', KEYS[2])
if stamp then return {redis.call('STRLEN', KEYS[1]), stamp} end
return {redis.call('STRLEN', KEYS[1])}`);

/** SET with ttl (ARGV[2] ms, 0 for none) and/or NX (ARGV[4] = '1'), and its timestamp side key (ARGV[3], skipped when empty). */
export const PUT = new Script(`local ttl = tonumber(ARGV[2])
local args = {'SET', KEYS[1], ARGV[1]}
if ttl > 0 then args[4] = 'PX' args[5] = ttl end
if ARGV[4] == '1' then args[#args + 1] = 'NX' end
if not redis.call(unpack(args)) then return 0 end
if ARGV[3] ~= '' then
  if ttl > 0 then redis.call('SET', KEYS[2], ARGV[3], 'PX', ttl) else redis.call('SET', KEYS[2], ARGV[3]) end
end
return 1`);

/**
 * A value as an ioredis argument. Small valid UTF-8 values go as strings: a single Buffer argument
 * switches ioredis to its slower buffer encoding, and valid UTF-8 decodes and re-encodes to the
 * very same bytes. Binary or large values stay Buffers.
 */
export const asArg = (bytes: Uint8Array): string | Buffer => {
  const buffer = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return buffer.byteLength <= 65536 && isUtf8(buffer) ? buffer.toString("utf8") : buffer;
};
export const toBytes = (b: Buffer | null): Uint8Array | null =>
  b === null ? null : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
export const ttlMs = (ttl: number | undefined) => (ttl ? Math.max(1, Math.ceil(ttl * 1000)) : 0);
/** The timestamp side key's value: `epochMs:size[:contentType]`; the size tells a stale stamp (value replaced by another client). */
export const stampOf = (size: number, contentType: string | undefined) =>
  `${Date.now()}:${size}${contentType ? `:${contentType}` : ""}`;
