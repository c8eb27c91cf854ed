/**
 * Finds and parses the central directory: the end record (and its ZIP64 locator and record),
 * then the central records, read in bounded chunks. The result is the archive's index: every
 * read is a lookup here plus one positioned read of the entry itself.
 */
import type { FileHandle } from "node:fs/promises";
import { UnsupportedError } from "../../../core/errors.js";
import type { Entry } from "./format.js";
import {
  CENTRAL_SIZE,
  corrupt,
  EOCD_SIZE,
  EOCD64_SIZE,
  EXTRA,
  findExtra,
  fromDos,
  keptExtra,
  LOCATOR64_SIZE,
  MAX16,
  MAX32,
  readU16,
  readU32,
  readU64,
  SIG,
  timesOf,
} from "./format.js";
import { classify, decodeName } from "./names.js";

/** The parsed index of one archive. */
export interface Directory {
  /** Every central record, in order (shadowed duplicates and non-key entries included, so rewrites keep them). */
  entries: Entry[];
  /** Reachable keys; with duplicate names, the last record wins (as in Python's zipfile). */
  files: Map<string, Entry>;
  /** Every folder path implied by a key or a folder record. */
  folders: Set<string>;
  /** Some key has more than one record (only archives made elsewhere): deletes must scan. */
  duplicates: boolean;
  /** Where the central directory starts: new entries are appended here. */
  cdStart: number;
  /** Bytes before the first entry (a self-extractor stub); such archives are rewritten, never appended to. */
  prefix: number;
  comment: Uint8Array;
}

const CHUNK = 1 << 20;
const MAX_COMMENT = MAX16;

export function emptyDirectory(): Directory {
  return {
    entries: [],
    files: new Map(),
    folders: new Set(),
    duplicates: false,
    cdStart: 0,
    prefix: 0,
    comment: new Uint8Array(0),
  };
}

/** Reads exactly `length` bytes at `position`; a short read means the archive is truncated. */
export async function readExactly(fh: FileHandle, position: number, length: number, path: string): Promise<Uint8Array> {
  const buffer = new Uint8Array(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await fh.read(buffer, filled, length - filled, position + filled);
    if (bytesRead === 0) throw corrupt(path, `unexpected end of file at byte ${position + filled}`);
    filled += bytesRead;
  }
  return buffer;
}

/**
 * Sequential reads through a 1 MiB window: a rewrite visits entries in file order, so copying
 * thousands of small entries costs one read per MiB instead of three per entry.
 */
export class Window {
  #start = 0;
  #bytes = new Uint8Array(0);
  constructor(
    readonly fh: FileHandle,
    readonly path: string,
    readonly size = CHUNK,
  ) {}

  async read(position: number, length: number): Promise<Uint8Array> {
    const from = position - this.#start;
    if (from >= 0 && from + length <= this.#bytes.length) return this.#bytes.subarray(from, from + length);
    if (length > this.size) return readExactly(this.fh, position, length, this.path);
    const buffer = new Uint8Array(this.size); // fresh each time: earlier views stay valid
    let filled = 0;
    while (filled < this.size) {
      const { bytesRead } = await this.fh.read(buffer, filled, this.size - filled, position + filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    if (filled < length) throw corrupt(this.path, `unexpected end of file at byte ${position + filled}`);
    this.#start = position;
    this.#bytes = buffer.subarray(0, filled);
    return this.#bytes.subarray(0, length);
  }
}

/** Adds a key or folder record to the lookup tables. */
export function index(dir: Directory, e: Entry): void {
  if (e.kind === "other") return;
  if (e.kind === "file") {
    if (dir.files.has(e.key)) dir.duplicates = true;
    dir.files.set(e.key, e);
  } else if (dir.folders.has(e.key)) return;
  else dir.folders.add(e.key);
  // Deepest first; an existing folder already has its ancestors.
  for (let i = e.key.lastIndexOf("/"); i > 0; i = e.key.lastIndexOf("/", i - 1)) {
    const folder = e.key.slice(0, i);
    if (dir.folders.has(folder)) return;
    dir.folders.add(folder);
  }
}

export function buildDirectory(entries: Entry[], cdStart: number, prefix: number, comment: Uint8Array): Directory {
  const dir: Directory = { entries, files: new Map(), folders: new Set(), duplicates: false, cdStart, prefix, comment };
  for (const e of entries) index(dir, e);
  return dir;
}

interface End {
  cdOffset: number;
  cdSize: number;
  /** Where the central directory must end: the zip64 end record, else the end record. */
  cdEnd: number;
  comment: Uint8Array;
}

/** Reads `length` bytes at `position` of an archive (or of what it held: see journal.ts). */
export type ReadAt = (position: number, length: number) => Promise<Uint8Array>;

/**
 * Parses the directory of an archive of `size` bytes, read from `fh` (or through `read`). An
 * empty file is an empty archive.
 */
export async function loadDirectory(fh: FileHandle, size: number, path: string, read?: ReadAt): Promise<Directory> {
  if (size === 0) return emptyDirectory();
  const readAt: ReadAt = read ?? ((position, length) => readExactly(fh, position, length, path));
  const end = await findEnd(readAt, size, path);
  const prefix = end.cdEnd - end.cdSize - end.cdOffset;
  if (prefix < 0) throw corrupt(path, "the central directory overlaps its end record");
  const cdStart = end.cdOffset + prefix;
  const entries: Entry[] = [];
  let buffer: Uint8Array = new Uint8Array(0);
  let at = 0;
  let position = cdStart;
  const cdEnd = cdStart + end.cdSize;
  /** Makes `n` bytes available at `at`, reading the next chunk of the directory as needed. */
  const ensure = async (n: number): Promise<void> => {
    if (buffer.length - at >= n) return;
    if (position + (n - (buffer.length - at)) > cdEnd)
      throw corrupt(path, "a central directory record runs past the directory");
    const length = Math.min(Math.max(CHUNK, n), cdEnd - position);
    const next = await readAt(position, length);
    position += length;
    buffer = Buffer.concat([buffer.subarray(at), next]);
    at = 0;
  };
  while (position - buffer.length + at < cdEnd) {
    await ensure(CENTRAL_SIZE);
    if (readU32(buffer, at) !== SIG.central)
      throw corrupt(path, `bad central directory record at byte ${position - buffer.length + at}`);
    const variable = readU16(buffer, at + 28) + readU16(buffer, at + 30) + readU16(buffer, at + 32);
    await ensure(CENTRAL_SIZE + variable);
    entries.push(parseCentral(buffer.subarray(at, at + CENTRAL_SIZE + variable), prefix, cdStart, path));
    at += CENTRAL_SIZE + variable;
  }
  return buildDirectory(entries, cdStart, prefix, end.comment);
}

async function findEnd(read: ReadAt, size: number, path: string): Promise<End> {
  const tailLength = Math.min(size, EOCD_SIZE + MAX_COMMENT);
  const tailStart = size - tailLength;
  const tail = await read(tailStart, tailLength);
  let i = tailLength - EOCD_SIZE;
  for (; i >= 0; i--) {
    if (readU32(tail, i) === SIG.eocd && i + EOCD_SIZE + readU16(tail, i + 20) <= tailLength) break;
  }
  if (i < 0) throw corrupt(path, "no end of central directory record (not a zip archive, or truncated)");
  const eocdPos = tailStart + i;
  const disk = readU16(tail, i + 4);
  const cdDisk = readU16(tail, i + 6);
  const end: End = {
    cdSize: readU32(tail, i + 12),
    cdOffset: readU32(tail, i + 16),
    cdEnd: eocdPos,
    comment: tail.slice(i + EOCD_SIZE, i + EOCD_SIZE + readU16(tail, i + 20)),
  };
  const zip64 = eocdPos >= LOCATOR64_SIZE ? await readZip64(read, eocdPos, path) : null;
  if (zip64) return { ...end, ...zip64 };
  if ((disk !== 0 && disk !== MAX16) || (cdDisk !== 0 && cdDisk !== MAX16)) {
    throw new UnsupportedError(`zip archive ${path} spans several disks, which is not supported`);
  }
  return end;
}

/** The ZIP64 end record, when a locator precedes the end record. */
async function readZip64(read: ReadAt, eocdPos: number, path: string): Promise<Omit<End, "comment"> | null> {
  const locator = await read(eocdPos - LOCATOR64_SIZE, LOCATOR64_SIZE);
  if (readU32(locator, 0) !== SIG.locator64) return null;
  if (readU32(locator, 4) !== 0 || readU32(locator, 16) > 1) {
    throw new UnsupportedError(`zip archive ${path} spans several disks, which is not supported`);
  }
  const stated = readU64(locator, 8);
  // Where the locator says, else right before it (an archive with bytes prepended).
  for (const at of [stated, eocdPos - LOCATOR64_SIZE - EOCD64_SIZE]) {
    if (at < 0 || at + EOCD64_SIZE > eocdPos - LOCATOR64_SIZE) continue;
    const record = await read(at, EOCD64_SIZE);
    if (readU32(record, 0) !== SIG.eocd64) continue;
    const cdSize = readU64(record, 40);
    const cdOffset = readU64(record, 48);
    if (cdSize < 0 || cdOffset < 0) throw corrupt(path, "impossible zip64 directory size or offset");
    if (readU32(record, 16) !== 0 || readU32(record, 20) !== 0) {
      throw new UnsupportedError(`zip archive ${path} spans several disks, which is not supported`);
    }
    return { cdSize, cdOffset, cdEnd: at };
  }
  throw corrupt(path, "a zip64 locator without a zip64 end record");
}

function parseCentral(r: Uint8Array, prefix: number, cdStart: number, path: string): Entry {
  const nameLength = readU16(r, 28);
  const extraLength = readU16(r, 30);
  const commentLength = readU16(r, 32);
  const nameBytes = r.slice(CENTRAL_SIZE, CENTRAL_SIZE + nameLength);
  const rawExtra = r.subarray(CENTRAL_SIZE + nameLength, CENTRAL_SIZE + nameLength + extraLength);
  let csize = readU32(r, 20);
  let size = readU32(r, 24);
  let offset = readU32(r, 42);
  const disk = readU16(r, 34);
  if (size === MAX32 || csize === MAX32 || offset === MAX32 || disk === MAX16) {
    // Zip64: the 64-bit values follow in this order, only for the fields that overflowed.
    const z = findExtra(rawExtra, EXTRA.zip64) ?? new Uint8Array(0);
    let at = 0;
    const next = () => {
      if (at + 8 > z.length) throw corrupt(path, "a zip64 field is missing from a central record");
      const v = readU64(z, at);
      at += 8;
      if (v < 0) throw corrupt(path, "an impossible zip64 size or offset");
      return v;
    };
    if (size === MAX32) size = next();
    if (csize === MAX32) csize = next();
    if (offset === MAX32) offset = next();
  }
  offset += prefix;
  if (offset + 30 > cdStart)
    throw corrupt(path, `an entry's local header lies outside the data area (offset ${offset})`);
  const flags = readU16(r, 8);
  const dosTime = readU16(r, 12);
  const dosDate = readU16(r, 14);
  const name = decodeName(nameBytes, flags, rawExtra);
  const times = timesOf(rawExtra);
  return {
    name: name ?? "",
    nameBytes,
    ...classify(name),
    madeBy: readU16(r, 4),
    needed: readU16(r, 6),
    flags,
    method: readU16(r, 10),
    dosTime,
    dosDate,
    crc: readU32(r, 16),
    csize,
    size,
    internalAttr: readU16(r, 36),
    externalAttr: readU32(r, 38),
    offset,
    extra: keptExtra(rawExtra),
    comment: r.slice(CENTRAL_SIZE + nameLength + extraLength, CENTRAL_SIZE + nameLength + extraLength + commentLength),
    mtime: times.mtime ?? fromDos(dosDate, dosTime),
    createdAt: times.createdAt,
    expiresAt: times.expiresAt,
    ours: times.ours,
  };
}
