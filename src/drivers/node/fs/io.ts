/**
 * Low-level file helpers for the fs driver. They use node:fs's callback API: its promise
 * API allocates a FileHandle per open, which costs measurably on small values.
 */

import type { Stats } from "node:fs";
import * as fs from "node:fs";
import { promisify } from "node:util";
import { AnystoreError, InvalidKeyError } from "../../../core/errors.js";

export const open = promisify(fs.open) as (path: string, flags: number, mode?: number) => Promise<number>;
export const close = promisify(fs.close);
export const fstat = promisify(fs.fstat) as (fd: number) => Promise<Stats>;
export const lstat = promisify(fs.lstat) as (path: string) => Promise<Stats>;
export const stat = promisify(fs.stat) as (path: string) => Promise<Stats>;
export const rename = promisify(fs.rename);
export const link = promisify(fs.link);
export const readlink = promisify(fs.readlink) as (path: string) => Promise<string>;
/** One level, not recursive: the fs driver creates folders one at a time inside a checked parent. */
export const mkdir = promisify(fs.mkdir) as (path: string) => Promise<void>;
export const rmdir = promisify(fs.rmdir) as (path: string) => Promise<void>;
const unlink = promisify(fs.unlink);
// Not promisify: it resolves fs.read and fs.write to { bytesRead, buffer } objects, not counts.
const read = (fd: number, buffer: Uint8Array, offset: number, length: number, position: number) =>
  new Promise<number>((resolve, reject) =>
    fs.read(fd, buffer, offset, length, position, (error, n) => (error ? reject(error) : resolve(n))),
  );
const write = (fd: number, buffer: Uint8Array, offset: number, length: number) =>
  new Promise<number>((resolve, reject) =>
    fs.write(fd, buffer, offset, length, null, (error, n) => (error ? reject(error) : resolve(n))),
  );
const fchmod = promisify(fs.fchmod);

export function codeOf(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

export function isMissing(error: unknown): boolean {
  const code = codeOf(error);
  return code === "ENOENT" || code === "ENOTDIR" || code === "EISDIR";
}

/** A name the file system cannot hold as an `InvalidKeyError`; any other failure (EACCES, ENOSPC, ...) as an `AnystoreError` with code IO. */
export function wrap(error: unknown, key: string): AnystoreError {
  if (error instanceof AnystoreError) return error;
  if (codeOf(error) === "ENAMETOOLONG") {
    return new InvalidKeyError(
      `key ${JSON.stringify(key.slice(0, 64))}... is too long for this file system (a segment over 255 bytes or a path over 4096)`,
      { key, cause: error },
    );
  }
  return new AnystoreError(`${codeOf(error) ?? "error"}: ${(error as Error)?.message ?? error}`, { key, cause: error });
}

/** Reads `size` bytes from `position` on into `buffer` from `offset` on; a short file ends early. Resolves to the bytes read. */
async function readInto(
  fd: number,
  buffer: Uint8Array,
  offset: number,
  size: number,
  position: number,
): Promise<number> {
  let filled = 0;
  while (filled < size) {
    const n = await read(fd, buffer, offset + filled, size - filled, position + filled);
    if (n === 0) break;
    filled += n;
  }
  return filled;
}

/** The first read of a whole-file read: small files fit, so they cost one read. */
const HEAD = 32 * 1024;
/** Reused head buffers (the bytes are copied out), so small reads allocate only what they return: one per read in flight, up to 64. */
const heads: Uint8Array[] = [];
const MAX_HEADS = 64;
/** Not zero-filled: only the bytes a read fills are ever copied out. */
const newHead = () => {
  const buffer = Buffer.allocUnsafeSlow(HEAD);
  return new Uint8Array(buffer.buffer, buffer.byteOffset, HEAD);
};

type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };
const settle = <T>(promise: Promise<T>): Promise<Settled<T>> =>
  promise.then(
    (value) => ({ ok: true, value }),
    (error: unknown) => ({ ok: false, error }),
  );

/**
 * `fstat` and a read of the first 32 KiB side by side, so a small file costs one round trip
 * after `open`. `bytes` is the whole file when it fits, else undefined (and for anything but
 * a regular file). Files are replaced by rename, never grown in place, so the size holds.
 */
export async function statAndSmallRead(fd: number): Promise<{ stats: Stats; bytes: Uint8Array | undefined }> {
  const head = heads.pop() ?? newHead();
  try {
    const [stats, first] = await Promise.all([settle(fstat(fd)), settle(read(fd, head, 0, HEAD, 0))]);
    if (!stats.ok) throw stats.error;
    if (!stats.value.isFile()) return { stats: stats.value, bytes: undefined };
    if (!first.ok) throw first.error;
    const size = stats.value.size;
    return { stats: stats.value, bytes: first.value >= size ? head.slice(0, size) : undefined };
  } finally {
    if (heads.length < MAX_HEADS) heads.push(head);
  }
}

/** Chunks of a streamed read; the stream reads one ahead of its consumer, no more. */
const STREAM_CHUNK = 512 * 1024;

/**
 * A web stream of the bytes in [start, end) of an open descriptor, read on demand (the
 * consumer's pace bounds memory: Readable.toWeb would buffer without limit behind a slow
 * one). The descriptor closes at the end, on error or on cancel.
 */
export function readableRange(fd: number, start: number, end: number): ReadableStream<Uint8Array> {
  let position = start;
  let open = true;
  const finish = () => {
    if (open) closeSoon(fd);
    open = false;
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const size = Math.min(STREAM_CHUNK, end - position);
        const chunk = new Uint8Array(size);
        const n = await readInto(fd, chunk, 0, size, position);
        position += n;
        if (n > 0) controller.enqueue(n === size ? chunk : chunk.subarray(0, n));
        if (n < size || position >= end) {
          finish();
          controller.close();
        }
      } catch (error) {
        finish();
        throw error;
      }
    },
    cancel: finish,
  });
}

/** Closes a descriptor without waiting: nothing waits on a read-only close. */
export function closeSoon(fd: number): void {
  close(fd).catch(() => {});
}

/** Reads `size` bytes from `position` and closes the descriptor. */
export async function readRange(fd: number, position: number, size: number): Promise<Uint8Array> {
  try {
    const bytes = new Uint8Array(size);
    const n = await readInto(fd, bytes, 0, size, position);
    return n === size ? bytes : bytes.subarray(0, n);
  } finally {
    await close(fd);
  }
}

async function writeFully(fd: number, bytes: Uint8Array): Promise<void> {
  for (let offset = 0; offset < bytes.byteLength; ) {
    offset += await write(fd, bytes, offset, bytes.byteLength - offset);
  }
}

const CREATE = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL;

/** Opens a new file exclusively, setting bits beyond the umask (the ttl mark) explicitly. */
export async function createFile(path: string, mode: number): Promise<number> {
  const fd = await open(path, CREATE, mode & 0o777);
  if (mode & ~0o777) {
    const { mode: current } = await fstat(fd);
    await fchmod(fd, (current & 0o777) | (mode & ~0o777));
  }
  return fd;
}

/** Writes a whole new file and resolves to its still open descriptor; removes the file on failure. */
export async function writeNew(path: string, bytes: Uint8Array, mode: number): Promise<number> {
  const fd = await createFile(path, mode);
  try {
    await writeFully(fd, bytes);
    return fd;
  } catch (error) {
    await close(fd).catch(() => {});
    await unlinkQuiet(path);
    throw error;
  }
}

/**
 * A writable over a new temp file, open as `fd`: `commit` runs after the last byte is on disk;
 * an abort or failure removes the temp file (so the previous value stays untouched), then
 * `done` runs either way.
 */
export function writableFile(
  fd: number,
  temp: string,
  commit: () => Promise<void>,
  wrapError: (error: unknown) => Error,
  done: () => void,
): WritableStream<Uint8Array> {
  let closed = false;
  let finished = false;
  const finish = () => {
    if (!finished) done();
    finished = true;
  };
  const discard = async () => {
    if (!closed) await close(fd).catch(() => {});
    closed = true;
    await unlinkQuiet(temp).catch(() => {});
    finish();
  };
  return new WritableStream<Uint8Array>({
    async write(chunk) {
      try {
        await writeFully(fd, chunk);
      } catch (error) {
        await discard();
        throw wrapError(error);
      }
    },
    async close() {
      closed = true;
      try {
        // The bytes are written: the rename need not wait for the close.
        await Promise.all([close(fd), commit()]);
      } finally {
        finish();
      }
    },
    abort: discard,
  });
}

/** Removes a file; true when it existed. */
export async function unlinkQuiet(path: string): Promise<boolean> {
  try {
    await unlink(path);
    return true;
  } catch (error) {
    if (codeOf(error) === "ENOENT" || codeOf(error) === "ENOTDIR") return false;
    throw error;
  }
}

export async function exists(path: string): Promise<boolean> {
  return new Promise((resolve) => fs.access(path, (error) => resolve(!error)));
}
