/**
 * The ZIP container (PKWARE APPNOTE 6.3.x): record layouts, the entry model, and encoders.
 * Compression itself is fflate's; everything about the container is here, so the reader
 * and writer share one definition of every field.
 */
import * as zlib from "node:zlib";
import { AnystoreError } from "../../../core/errors.js";

export const SIG = {
  local: 0x04034b50,
  central: 0x02014b50,
  eocd: 0x06054b50,
  eocd64: 0x06064b50,
  locator64: 0x07064b50,
  descriptor: 0x08074b50,
} as const;

export const MAX16 = 0xffff;
export const MAX32 = 0xffffffff;
export const LOCAL_SIZE = 30;
export const CENTRAL_SIZE = 46;
export const EOCD_SIZE = 22;
export const EOCD64_SIZE = 56;
export const LOCATOR64_SIZE = 20;

/** Extra field header ids. `anystore` (bytes "as") is ours: unknown ids are skipped by every reader. */
export const EXTRA = { zip64: 0x0001, ntfs: 0x000a, time: 0x5455, unicodePath: 0x7075, anystore: 0x7361 } as const;
export const FLAG = { encrypted: 0x1, descriptor: 0x8, utf8: 0x800 } as const;
export const METHOD = { stored: 0, deflated: 8 } as const;

/** Made by: UNIX (3), spec 3.0, like Info-ZIP, so `unzip` applies the mode in the external attributes. */
const MADE_BY = (3 << 8) | 30;
const FILE_MODE = 0o100644;

/** One central directory record, parsed; enough to read the entry and to write it again. */
export interface Entry {
  /** The decoded name as stored. */
  name: string;
  nameBytes: Uint8Array;
  /** `file`: a reachable key; `dir`: a folder record (`a/`); `other`: hostile or unreadable name, never a key. */
  kind: "file" | "dir" | "other";
  /** The key (file) or folder path (dir); `""` for other. */
  key: string;
  madeBy: number;
  needed: number;
  flags: number;
  method: number;
  dosTime: number;
  dosDate: number;
  crc: number;
  csize: number;
  size: number;
  internalAttr: number;
  externalAttr: number;
  /** Absolute file position of the local header. */
  offset: number;
  /** Central extra fields other than zip64 and anystore's, kept verbatim when the entry is rewritten. */
  extra: Uint8Array;
  comment: Uint8Array;
  mtime: Date | null;
  /** When the key was first written (kept across overwrites); null for entries made elsewhere. */
  createdAt: Date | null;
  /** Epoch ms after which the key is gone; 0 for never. */
  expiresAt: number;
  /** The entry carries anystore's extra field (ms mtime and expiry). */
  ours: boolean;
  /** The encoded central record, once written (offsets included: cleared whenever a field changes). */
  record?: Uint8Array | undefined;
}

/** A corrupt or truncated archive: always this typed error, never a crash or a hang. */
export function corrupt(path: string, why: string, cause?: unknown): AnystoreError {
  return new AnystoreError(`corrupt zip archive ${path}: ${why}`, cause === undefined ? {} : { cause });
}

// ---------------------------------------------------------------- checksums and times

let table: Uint32Array | undefined;
const nativeCrc = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

/** CRC-32 (zlib's, native since Node 20.15; a table fallback before that). */
export function crc32(data: Uint8Array, crc = 0): number {
  if (nativeCrc) return nativeCrc(data, crc);
  if (!table) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let c = ~crc >>> 0;
  for (let i = 0; i < data.length; i++) c = table[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

/** DOS date and time (local time, 2 s resolution; clamped to 1980-2107). */
export function toDos(date: Date): { dosDate: number; dosTime: number } {
  const year = date.getFullYear();
  if (year < 1980) return { dosDate: (1 << 5) | 1, dosTime: 0 };
  const y = Math.min(year - 1980, 127);
  return {
    dosDate: (y << 9) | ((date.getMonth() + 1) << 5) | date.getDate(),
    dosTime: (date.getHours() << 11) | (date.getMinutes() << 5) | (date.getSeconds() >> 1),
  };
}

export function fromDos(dosDate: number, dosTime: number): Date | null {
  const month = (dosDate >> 5) & 15;
  const day = dosDate & 31;
  if (month < 1 || month > 12 || day < 1) return null;
  return new Date(1980 + (dosDate >> 9), month - 1, day, dosTime >> 11, (dosTime >> 5) & 63, (dosTime & 31) * 2);
}

// ---------------------------------------------------------------- little-endian access

export const readU16 = (b: Uint8Array, at: number): number => b[at]! | (b[at + 1]! << 8);
export const readU32 = (b: Uint8Array, at: number): number =>
  (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
/** A 64-bit field; beyond 2^53 it cannot be a real size or offset, so -1 (callers treat it as corrupt). */
export function readU64(b: Uint8Array, at: number): number {
  const high = readU32(b, at + 4);
  return high >= 0x200000 ? -1 : high * 0x100000000 + readU32(b, at);
}

class Out {
  readonly bytes: Buffer;
  at = 0;
  constructor(size: number) {
    this.bytes = Buffer.allocUnsafe(size); // every byte gets written
  }
  u16(v: number) {
    this.at = this.bytes.writeUInt16LE(v, this.at);
  }
  u32(v: number) {
    this.at = this.bytes.writeUInt32LE(v >>> 0, this.at);
  }
  u64(v: number) {
    this.u32(v % 0x100000000);
    this.u32(Math.floor(v / 0x100000000));
  }
  raw(b: Uint8Array) {
    this.bytes.set(b, this.at);
    this.at += b.length;
  }
}

// ---------------------------------------------------------------- extra fields

/** The fields of an extra block; a malformed tail is dropped. */
export function* extraFields(extra: Uint8Array): Generator<{ id: number; data: Uint8Array; raw: Uint8Array }> {
  for (let at = 0; at + 4 <= extra.length; ) {
    const id = readU16(extra, at);
    const len = readU16(extra, at + 2);
    if (at + 4 + len > extra.length) return;
    yield { id, data: extra.subarray(at + 4, at + 4 + len), raw: extra.subarray(at, at + 4 + len) };
    at += 4 + len;
  }
}

export function findExtra(extra: Uint8Array, id: number): Uint8Array | undefined {
  for (const field of extraFields(extra)) if (field.id === id) return field.data;
  return undefined;
}

/** The extra block without the fields the writer regenerates (zip64, anystore's). */
export function keptExtra(extra: Uint8Array): Uint8Array {
  if (extra.length === 0) return extra;
  const parts: Uint8Array[] = [];
  for (const f of extraFields(extra)) if (f.id !== EXTRA.zip64 && f.id !== EXTRA.anystore) parts.push(f.raw);
  return Buffer.concat(parts);
}

function field(id: number, data: Uint8Array): Uint8Array {
  const out = new Out(4 + data.length);
  out.u16(id);
  out.u16(data.length);
  out.raw(data);
  return out.bytes;
}

/** Info-ZIP's extended timestamp (UTC seconds), modification time only. */
export function timeField(mtime: Date): Uint8Array {
  const data = Buffer.alloc(5);
  data[0] = 1;
  data.writeUInt32LE(Math.max(0, Math.min(MAX32, Math.floor(mtime.getTime() / 1000))), 1);
  return field(EXTRA.time, data);
}

/** anystore's field: version 1, then mtime, expiry (0 = never) and creation time (0 = unknown), all epoch ms. */
function anystoreField(e: Entry): Uint8Array {
  const out = new Out(25);
  out.bytes[0] = 1;
  out.at = 1;
  out.u64(Math.max(0, e.mtime?.getTime() ?? 0));
  out.u64(e.expiresAt);
  out.u64(Math.max(0, e.createdAt?.getTime() ?? 0));
  return field(EXTRA.anystore, out.bytes);
}

/** Reads mtime and expiry from the central extra block: anystore's field, else extended timestamp, else NTFS. */
export function timesOf(extra: Uint8Array): {
  mtime: Date | null;
  createdAt: Date | null;
  expiresAt: number;
  ours: boolean;
} {
  let mtime: Date | null = null;
  let createdAt: Date | null = null;
  let expiresAt = 0;
  let ours = false;
  let ntfs: Date | null = null;
  for (const { id, data } of extraFields(extra)) {
    if (id === EXTRA.anystore && data.length >= 17 && data[0] === 1) {
      const ms = readU64(data, 1);
      if (ms > 0) mtime = new Date(ms);
      expiresAt = Math.max(0, readU64(data, 9));
      const created = data.length >= 25 ? readU64(data, 17) : 0;
      if (created > 0) createdAt = new Date(created);
      ours = true;
    } else if (id === EXTRA.time && !ours && data.length >= 5 && data[0]! & 1) {
      mtime = new Date(readU32(data, 1) * 1000);
    } else if (id === EXTRA.ntfs && data.length >= 32 && readU16(data, 4) === 1 && readU16(data, 6) >= 24) {
      const ticks = readU64(data, 8);
      if (ticks > 0) ntfs = new Date(ticks / 10_000 - 11_644_473_600_000);
    }
  }
  return { mtime: mtime ?? ntfs, createdAt, expiresAt, ours };
}

const encoder = new TextEncoder();

// ---------------------------------------------------------------- records

const needsZip64 = (e: Pick<Entry, "size" | "csize">) => e.size >= MAX32 || e.csize >= MAX32;

/** A local header with crc and sizes filled in (no data descriptor), zip64 sizes when needed. */
export function encodeLocal(e: Entry, localExtra: Uint8Array): Buffer {
  const zip64 = needsZip64(e);
  const z = zip64 ? new Out(20) : null;
  if (z) {
    z.u16(EXTRA.zip64);
    z.u16(16);
    z.u64(e.size);
    z.u64(e.csize);
  }
  const extra = z ? Buffer.concat([z.bytes, localExtra]) : localExtra;
  const out = new Out(LOCAL_SIZE + e.nameBytes.length + extra.length);
  out.u32(SIG.local);
  out.u16(zip64 ? Math.max(e.needed, 45) : e.needed);
  out.u16(e.flags);
  out.u16(e.method);
  out.u16(e.dosTime);
  out.u16(e.dosDate);
  out.u32(e.crc);
  out.u32(zip64 ? MAX32 : e.csize);
  out.u32(zip64 ? MAX32 : e.size);
  out.u16(e.nameBytes.length);
  out.u16(extra.length);
  out.raw(e.nameBytes);
  out.raw(extra);
  return out.bytes;
}

/** A data descriptor (kept only for encrypted entries, whose check byte depends on it). */
export function encodeDescriptor(e: Entry): Buffer {
  const zip64 = needsZip64(e);
  const out = new Out(zip64 ? 24 : 16);
  out.u32(SIG.descriptor);
  out.u32(e.crc);
  if (zip64) {
    out.u64(e.csize);
    out.u64(e.size);
  } else {
    out.u32(e.csize);
    out.u32(e.size);
  }
  return out.bytes;
}

export function encodeCentral(e: Entry): Buffer {
  const big = [e.size >= MAX32, e.csize >= MAX32, e.offset >= MAX32];
  const values = [e.size, e.csize, e.offset].filter((_, i) => big[i]);
  let zip64: Uint8Array = new Uint8Array(0);
  if (values.length) {
    const z = new Out(4 + 8 * values.length);
    z.u16(EXTRA.zip64);
    z.u16(8 * values.length);
    for (const v of values) z.u64(v);
    zip64 = z.bytes;
  }
  const extra = Buffer.concat([zip64, e.extra, e.ours ? anystoreField(e) : new Uint8Array(0)]);
  const out = new Out(CENTRAL_SIZE + e.nameBytes.length + extra.length + e.comment.length);
  out.u32(SIG.central);
  out.u16(e.madeBy);
  out.u16(values.length ? Math.max(e.needed, 45) : e.needed);
  out.u16(e.flags);
  out.u16(e.method);
  out.u16(e.dosTime);
  out.u16(e.dosDate);
  out.u32(e.crc);
  out.u32(big[1] ? MAX32 : e.csize);
  out.u32(big[0] ? MAX32 : e.size);
  out.u16(e.nameBytes.length);
  out.u16(extra.length);
  out.u16(e.comment.length);
  out.u16(0); // disk number start
  out.u16(e.internalAttr);
  out.u32(e.externalAttr);
  out.u32(big[2] ? MAX32 : e.offset);
  out.raw(e.nameBytes);
  out.raw(extra);
  out.raw(e.comment);
  return out.bytes;
}

/** Zip64 end records (when needed) and the end of central directory record. */
export function encodeEnd(count: number, cdOffset: number, cdSize: number, comment: Uint8Array): Buffer {
  const zip64 = count >= MAX16 || cdOffset >= MAX32 || cdSize >= MAX32;
  const out = new Out((zip64 ? EOCD64_SIZE + LOCATOR64_SIZE : 0) + EOCD_SIZE + comment.length);
  if (zip64) {
    out.u32(SIG.eocd64);
    out.u64(EOCD64_SIZE - 12);
    out.u16(45);
    out.u16(45);
    out.u32(0);
    out.u32(0);
    out.u64(count);
    out.u64(count);
    out.u64(cdSize);
    out.u64(cdOffset);
    out.u32(SIG.locator64);
    out.u32(0);
    out.u64(cdOffset + cdSize);
    out.u32(1);
  }
  out.u32(SIG.eocd);
  out.u16(0);
  out.u16(0);
  out.u16(Math.min(count, MAX16));
  out.u16(Math.min(count, MAX16));
  out.u32(zip64 ? MAX32 : cdSize);
  out.u32(zip64 ? MAX32 : cdOffset);
  out.u16(comment.length);
  out.raw(comment);
  return out.bytes;
}

/** A new entry for a key written by this driver. */
export function newEntry(
  key: string,
  v: { method: number; crc: number; size: number; csize: number; mtime: Date; expiresAt: number },
): Entry {
  const nameBytes = encoder.encode(key);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the whole ASCII range, control characters included, is meant
  const ascii = !/[^\x00-\x7f]/.test(key);
  return {
    name: key,
    nameBytes,
    kind: "file",
    key,
    madeBy: MADE_BY,
    needed: 20,
    flags: ascii ? 0 : FLAG.utf8,
    method: v.method,
    ...toDos(v.mtime),
    crc: v.crc,
    csize: v.csize,
    size: v.size,
    internalAttr: 0,
    externalAttr: (FILE_MODE << 16) >>> 0,
    offset: 0,
    extra: timeField(v.mtime),
    comment: new Uint8Array(0),
    mtime: v.mtime,
    createdAt: v.mtime,
    expiresAt: v.expiresAt,
    ours: true,
  };
}
