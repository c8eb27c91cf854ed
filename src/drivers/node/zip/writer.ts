/**
 * Writes archives. Two ways, chosen by the driver:
 *
 * - append (a new key): the new entries go where the old central directory began, followed by
 *   a new central directory and end record. Cost: the entry plus the whole central directory
 *   (about 100 bytes per entry, written twice: the old one is saved in a journal first, see
 *   journal.ts), in place. A writer killed in the middle leaves the journal, from which readers
 *   take the old directory and the next writer restores it.
 * - rewrite (an overwrite, a delete, a sweep, a new archive): every kept entry is copied into a
 *   temp file next to the archive (`.anystore-*.zip.tmp`), synced, then renamed over it:
 *   atomic, but O(archive size) in I/O for every such write.
 *
 * New entries carry crc and sizes in their local header (no data descriptors), an extended
 * timestamp, and anystore's own extra field (ms mtime and TTL expiry) in the central record.
 */
import { randomBytes } from "node:crypto";
import type { FileHandle } from "node:fs/promises";
import { chmod, open, readdir, rename, stat, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { Deflate, deflateSync } from "fflate";
import { RESERVED } from "../../../core/keys.js";
import type { Directory } from "./directory.js";
import { buildDirectory, index, Window } from "./directory.js";
import type { Entry } from "./format.js";
import { crc32, encodeCentral, encodeDescriptor, encodeEnd, encodeLocal, FLAG, keptExtra, METHOD } from "./format.js";
import { dropJournal, rollBack, saveJournal } from "./journal.js";
import type { Source } from "./reader.js";
import { locate } from "./reader.js";

/** Where a new entry's (compressed) data comes from: memory, or a spool file from offset 0. */
export type Payload = { bytes: Uint8Array } | { file: FileHandle; path: string };

export interface Pending {
  entry: Entry;
  payload: Payload;
}

const COPY_CHUNK = 1 << 20;
const DEFLATE_SLICE = 64 * 1024;

/** Compresses a value in memory; stores it instead when deflate does not make it smaller. */
export function compress(
  bytes: Uint8Array,
  level: number,
): { method: number; crc: number; size: number; csize: number; data: Uint8Array } {
  const crc = crc32(bytes);
  if (level > 0 && bytes.length > 0) {
    const data = deflateSync(bytes, { level: level as 1 });
    if (data.length < bytes.length)
      return { method: METHOD.deflated, crc, size: bytes.length, csize: data.length, data };
  }
  return { method: METHOD.stored, crc, size: bytes.length, csize: bytes.length, data: bytes };
}

/** Buffered positional writes: many small records become few large writes. */
class Output {
  #chunks: Uint8Array[] = [];
  #buffered = 0;
  constructor(
    readonly fh: FileHandle,
    public position: number,
  ) {}
  /** The position the next byte will be written at. */
  get end(): number {
    return this.position + this.#buffered;
  }
  async write(bytes: Uint8Array): Promise<void> {
    this.#chunks.push(bytes);
    this.#buffered += bytes.length;
    if (this.#buffered >= COPY_CHUNK) await this.flush();
  }
  async flush(): Promise<void> {
    if (!this.#buffered) return;
    const data = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks);
    this.#chunks = [];
    for (let done = 0; done < data.length; ) {
      const { bytesWritten } = await this.fh.write(data, done, data.length - done, this.position + done);
      done += bytesWritten;
    }
    this.position += data.length;
    this.#buffered = 0;
  }
  /** Copies `length` bytes from another file (through a window), a chunk at a time. */
  async copy(from: Window, position: number, length: number): Promise<void> {
    for (let done = 0; done < length; ) {
      const n = Math.min(COPY_CHUNK, length - done);
      await this.write(await from.read(position + done, n));
      done += n;
    }
  }
}

/** An entry's central record, cached on it: an append re-encodes only the new entries. */
function central(e: Entry): Uint8Array {
  e.record ??= encodeCentral(e);
  return e.record;
}

async function writeNew(out: Output, item: Pending): Promise<Entry> {
  const e: Entry = { ...item.entry, offset: out.end, record: undefined };
  await out.write(encodeLocal(e, e.extra));
  if ("bytes" in item.payload) await out.write(item.payload.bytes);
  else await out.copy(new Window(item.payload.file, item.payload.path), 0, e.csize);
  return e;
}

async function writeDirectory(out: Output, entries: Entry[], comment: Uint8Array): Promise<number> {
  const cdStart = out.end;
  for (const e of entries) await out.write(central(e));
  await out.write(encodeEnd(entries.length, cdStart, out.end - cdStart, comment));
  await out.flush();
  return cdStart;
}

/**
 * Appends entries to an existing archive in place, then updates `dir` to match. What it
 * overwrites is journaled first; on failure it is put back, so the archive stays as it was.
 */
export async function append(path: string, dir: Directory, items: Pending[]): Promise<void> {
  const fh = await open(path, "r+");
  try {
    const saved = await saveJournal(path, fh, dir.cdStart);
    const out = new Output(fh, dir.cdStart);
    const added: Entry[] = [];
    let cdStart: number;
    try {
      for (const item of items) added.push(await writeNew(out, item));
      cdStart = await writeDirectory(out, dir.entries.concat(added), dir.comment);
      await fh.truncate(out.position);
    } catch (error) {
      // Left in place when it cannot be applied now: the next writer applies it.
      await rollBack(fh, saved).then(
        () => dropJournal(path),
        () => {},
      );
      throw error;
    }
    await dropJournal(path);
    for (const e of added) {
      dir.entries.push(e);
      index(dir, e);
    }
    dir.cdStart = cdStart;
  } finally {
    await fh.close();
  }
}

/** A temp file next to the archive, with the reserved prefix so nothing ever lists it. */
export function tempPath(path: string, suffix: string): string {
  return join(dirname(path), `${RESERVED}-${basename(path)}-${randomBytes(6).toString("hex")}${suffix}`);
}

/**
 * Removes the archive's temp and spool files older than `maxAge` ms: what writers killed in
 * the middle of a rewrite, a streamed write or taking the lock left behind (a live writer
 * keeps touching its file).
 */
export async function sweepTemps(path: string, maxAge: number): Promise<number> {
  const temp = `${RESERVED}-${basename(path)}-`;
  const lockTemp = `${RESERVED}-${basename(path)}.lock.`;
  const names = await readdir(dirname(path)).catch(() => [] as string[]);
  let removed = 0;
  for (const name of names) {
    const left =
      (name.startsWith(temp) && (name.endsWith(".zip.tmp") || name.endsWith(".spool"))) || name.startsWith(lockTemp);
    if (!left) continue;
    const file = join(dirname(path), name);
    const s = await stat(file).catch(() => null);
    if (
      s &&
      Date.now() - s.mtimeMs > maxAge &&
      (await unlink(file).then(
        () => true,
        () => false,
      ))
    )
      removed++;
  }
  return removed;
}

/**
 * Writes `keep` (copied from `src`) and the new entries into a temp file and renames it over
 * the archive. Resolves to the new file's handle (open for reading) and directory.
 */
export async function rewrite(
  path: string,
  src: Source | null,
  keep: Entry[],
  items: Pending[],
  comment: Uint8Array,
): Promise<{ fh: FileHandle; dir: Directory }> {
  const temp = tempPath(path, ".zip.tmp");
  const fh = await open(temp, "wx+");
  try {
    const out = new Output(fh, 0);
    const entries: Entry[] = [];
    const from = src && { ...src, window: new Window(src.fh, src.path) };
    // Copied in file order (sequential reads); the directory keeps the original order.
    const copied = new Map<Entry, Entry>();
    for (const old of [...keep].sort((a, b) => a.offset - b.offset)) copied.set(old, await copyEntry(out, from!, old));
    for (const old of keep) entries.push(copied.get(old)!);
    for (const item of items) entries.push(await writeNew(out, item));
    const cdStart = await writeDirectory(out, entries, comment);
    await fh.truncate(out.position);
    await fh.datasync();
    const mode = await stat(path).then(
      (s) => s.mode & 0o7777,
      () => null,
    );
    if (mode !== null) await chmod(temp, mode);
    await rename(temp, path);
    return { fh, dir: buildDirectory(entries, cdStart, 0, comment) };
  } catch (error) {
    await fh.close().catch(() => {});
    await unlink(temp).catch(() => {});
    throw error;
  }
}

/** Copies one entry as is, with a fresh local header (sizes filled in, no descriptor unless encrypted). */
async function copyEntry(out: Output, src: Source, old: Entry): Promise<Entry> {
  const { dataStart, localExtra } = await locate(src, old, true);
  const descriptor = (old.flags & FLAG.encrypted) !== 0 && (old.flags & FLAG.descriptor) !== 0;
  const e: Entry = {
    ...old,
    offset: out.end,
    flags: descriptor ? old.flags : old.flags & ~FLAG.descriptor,
    record: undefined,
  };
  await out.write(encodeLocal(e, keptExtra(localExtra)));
  await out.copy(src.window!, dataStart, e.csize);
  if (descriptor) await out.write(encodeDescriptor(e));
  return e;
}

/**
 * A streamed value on its way in: deflated on the fly into a spool file next to the archive,
 * with bounded memory; the archive itself is only touched when the value is complete.
 */
export class Spool {
  crc = 0;
  size = 0;
  csize = 0;
  readonly method: number;
  readonly #deflate: Deflate | undefined;
  #out: Uint8Array[] = [];

  private constructor(
    readonly path: string,
    readonly file: FileHandle,
    level: number,
  ) {
    this.method = level > 0 ? METHOD.deflated : METHOD.stored;
    if (level > 0) this.#deflate = new Deflate({ level: level as 1 }, (chunk) => void this.#out.push(chunk));
  }

  static async create(archive: string, level: number): Promise<Spool> {
    const path = tempPath(archive, ".spool");
    return new Spool(path, await open(path, "wx+"), level);
  }

  async write(chunk: Uint8Array): Promise<void> {
    this.crc = crc32(chunk, this.crc);
    this.size += chunk.length;
    if (!this.#deflate) return this.#emit([chunk]);
    for (let at = 0; at < chunk.length; at += DEFLATE_SLICE) {
      this.#deflate.push(chunk.subarray(at, at + DEFLATE_SLICE));
      await this.#drain();
    }
  }

  async finish(): Promise<void> {
    this.#deflate?.push(new Uint8Array(0), true);
    await this.#drain();
  }

  async discard(): Promise<void> {
    await this.file.close().catch(() => {});
    await unlink(this.path).catch(() => {});
  }

  async #drain(): Promise<void> {
    const chunks = this.#out;
    this.#out = [];
    await this.#emit(chunks);
  }

  async #emit(chunks: Uint8Array[]): Promise<void> {
    for (const chunk of chunks) {
      for (let done = 0; done < chunk.length; ) {
        const { bytesWritten } = await this.file.write(chunk, done, chunk.length - done, this.csize);
        done += bytesWritten;
        this.csize += bytesWritten;
      }
    }
  }
}
