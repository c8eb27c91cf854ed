/**
 * Redis key names for the redis driver: hash slots (Redis Cluster's CRC16), the hidden side
 * keys that hold timestamps and streamed writes, and SCAN patterns.
 *
 * Invariant: a side key of the Redis key K always lives in K's hash slot, so that K and its
 * side keys can be touched by one MSET, MULTI, RENAME or script, also on a cluster.
 */

/** Hidden namespace of side keys (a `.anystore` segment is never a store key). */
export const TIMESTAMPS = ".anystore/t/";
export const TEMPORARY = ".anystore/w/";

const CRC_TABLE = (() => {
  const table = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let crc = i << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1;
    table[i] = crc & 0xffff;
  }
  return table;
})();

const encoder = new TextEncoder();

/** CRC16-XMODEM of the UTF-8 bytes of `text`, as Redis Cluster computes it. */
function crc16(text: string): number {
  let crc = 0;
  for (const byte of encoder.encode(text)) crc = ((crc << 8) ^ CRC_TABLE[((crc >> 8) ^ byte) & 0xff]!) & 0xffff;
  return crc;
}

/** The hash slot of a key: the part between the first `{` and the next `}`, when non-empty, else the whole key. */
export function keySlot(key: string): number {
  const open = key.indexOf("{");
  if (open !== -1) {
    const close = key.indexOf("}", open + 1);
    if (close > open + 1) return crc16(key.slice(open + 1, close)) & 16383;
  }
  return crc16(key) & 16383;
}

let slotTags: string[] | undefined;

/** A short tag per slot: `{tag}` hashes to that slot. Built once (about 170k CRCs), only for keys with braces. */
function tagOfSlot(slot: number): string {
  if (!slotTags) {
    const tags = new Array<string>(16384);
    let missing = 16384;
    for (let i = 0; missing > 0; i++) {
      const tag = i.toString(36);
      const s = crc16(tag) & 16383;
      if (tags[s] === undefined) {
        tags[s] = tag;
        missing--;
      }
    }
    slotTags = tags;
  }
  return slotTags[slot]!;
}

/**
 * The side key `space + ...` of the Redis key `key`, in the same hash slot: `space{key}` for a
 * key without braces (readable, the usual case), else `space{tag}/key` with a tag of key's slot.
 */
export function sideKey(space: string, key: string): string {
  if (key.indexOf("{") === -1 && key.indexOf("}") === -1) return `${space}{${key}}`;
  return `${space}{${tagOfSlot(keySlot(key))}}/${key}`;
}

/** The Redis key a side key belongs to (the inverse of `sideKey`), or undefined for other names. */
export function ownerOf(space: string, side: string): string | undefined {
  if (!side.startsWith(`${space}{`)) return undefined;
  const rest = side.slice(space.length + 1);
  const close = rest.indexOf("}");
  if (close === -1) return undefined;
  if (close === rest.length - 1) return rest.slice(0, -1);
  return rest.startsWith("/", close + 1) ? rest.slice(close + 2) : undefined;
}

/** Escapes Redis glob characters, so a prefix matches only itself in `SCAN MATCH`. */
export function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, "\\$&");
}
