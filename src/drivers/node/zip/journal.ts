/**
 * Makes in-place appends undoable. An append writes over the archive's central directory, so
 * first the bytes it will overwrite (the directory and end records) are saved in
 * `.anystore-<name>.journal` beside the archive, with the file's identity, size and a CRC-32;
 * once the new directory is complete the journal goes. A journal still there means an append was
 * cut short (its writer was killed): the next writer puts the saved bytes back (`recover`), and
 * readers meanwhile take the directory from the journal. An incomplete journal (the writer died
 * while saving it) means the archive was not touched yet, and is simply removed.
 *
 * This guards against a writer that dies (kill -9, a crash), not against power loss: nothing
 * here is fsynced (rewrites are, see writer.ts).
 */
import type { Stats } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import { open, readFile, stat, unlink, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { RESERVED } from "../../../core/keys.js";
import type { ReadAt } from "./directory.js";
import { readExactly } from "./directory.js";
import { corrupt, crc32 } from "./format.js";

const MAGIC = 0x314a5341; // "ASJ1"

/** What an append overwrote: the file's bytes from `cdStart` to its old `size`. */
export interface Saved {
  /** `dev:ino` of the archive the journal belongs to. */
  id: string;
  size: number;
  cdStart: number;
  tail: Uint8Array;
}

export const journalPath = (archive: string): string =>
  join(dirname(archive), `${RESERVED}-${basename(archive)}.journal`);
export const fileId = (s: Stats): string => `${s.dev}:${s.ino}`;

/** Saves what an append at `cdStart` will overwrite. */
export async function saveJournal(archive: string, fh: FileHandle, cdStart: number): Promise<Saved> {
  const s = await fh.stat();
  const tail = s.size > cdStart ? await readExactly(fh, cdStart, s.size - cdStart, archive) : new Uint8Array(0);
  const header = Buffer.from(
    JSON.stringify({ id: fileId(s), size: s.size, cdStart, crc: crc32(tail), length: tail.length }),
  );
  const lead = Buffer.alloc(8);
  lead.writeUInt32LE(MAGIC, 0);
  lead.writeUInt32LE(header.length, 4);
  await writeFile(journalPath(archive), Buffer.concat([lead, header, tail]));
  return { id: fileId(s), size: s.size, cdStart, tail };
}

/** The journal of `archive` (identity `id`), or null when there is none, it is incomplete, or it belongs to another file. */
export async function readJournal(archive: string, id: string): Promise<Saved | null> {
  let bytes: Buffer;
  try {
    bytes = await readFile(journalPath(archive));
  } catch {
    return null;
  }
  if (bytes.length < 8 || bytes.readUInt32LE(0) !== MAGIC) return null;
  const headerEnd = 8 + bytes.readUInt32LE(4);
  try {
    const header = JSON.parse(bytes.subarray(8, headerEnd).toString("utf8")) as {
      id: string;
      size: number;
      cdStart: number;
      crc: number;
      length: number;
    };
    const tail = bytes.subarray(headerEnd);
    if (header.id !== id || tail.length !== header.length || crc32(tail) !== header.crc) return null;
    return { id: header.id, size: header.size, cdStart: header.cdStart, tail };
  } catch {
    return null;
  }
}

export async function dropJournal(archive: string): Promise<void> {
  await unlink(journalPath(archive)).catch(() => {});
}

/** Puts back what an append overwrote: the archive is as it was before the append began. */
export async function rollBack(fh: FileHandle, saved: Saved): Promise<void> {
  for (let done = 0; done < saved.tail.length; ) {
    const { bytesWritten } = await fh.write(saved.tail, done, saved.tail.length - done, saved.cdStart + done);
    done += bytesWritten;
  }
  await fh.truncate(saved.size);
}

/**
 * Undoes an append that was cut short, if a journal says so; run by a writer holding the lock
 * before it reads the archive. Resolves to true when the archive was rolled back.
 */
export async function recover(archive: string): Promise<boolean> {
  const found = await stat(journalPath(archive)).then(
    () => true,
    () => false,
  );
  if (!found) return false;
  let fh: FileHandle;
  try {
    fh = await open(archive, "r+");
  } catch {
    await dropJournal(archive); // no archive: nothing to put back
    return false;
  }
  try {
    const saved = await readJournal(archive, fileId(await fh.stat()));
    if (saved) await rollBack(fh, saved);
    await dropJournal(archive);
    return saved !== null;
  } finally {
    await fh.close();
  }
}

/** Reads the archive as it was before the cut-short append: saved bytes from `cdStart` on, the file before that. */
export function readAsSaved(fh: FileHandle, saved: Saved, path: string): ReadAt {
  return async (position, length) => {
    if (position + length > saved.size) throw corrupt(path, `unexpected end of file at byte ${saved.size}`);
    const out = new Uint8Array(length);
    const before = Math.max(0, Math.min(length, saved.cdStart - position));
    if (before > 0) out.set(await readExactly(fh, position, before, path));
    if (before < length)
      out.set(saved.tail.subarray(position + before - saved.cdStart, position + length - saved.cdStart), before);
    return out;
  };
}
