/**
 * Low-level file helpers for the fs driver. They use node:fs's callback API: its promise
 * API allocates a FileHandle per open, which costs measurably on small values.
 */
import * as fs from "node:fs";
import type { Stats } from "node:fs";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { AnystoreError } from "../../core/errors.js";

export const open = promisify(fs.open) as (path: string, flags: number, mode?: number) => Promise<number>;
export const close = promisify(fs.close);
export const fstat = promisify(fs.fstat) as (fd: number) => Promise<Stats>;
export const rename = promisify(fs.rename);
export const link = promisify(fs.link);
const unlink = promisify(fs.unlink);
const rmdir = promisify(fs.rmdir);
const read = promisify(fs.read) as unknown as (fd: number, buffer: Uint8Array, offset: number, length: number, position: number) => Promise<number>;
const write = promisify(fs.write) as unknown as (fd: number, buffer: Uint8Array, offset: number, length: number) => Promise<number>;
const fchmod = promisify(fs.fchmod);

export function codeOf(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

export function isMissing(error: unknown): boolean {
  const code = codeOf(error);
  return code === "ENOENT" || code === "ENOTDIR" || code === "EISDIR";
}

/** Any other failure (EACCES, ENOSPC, ...) as an `AnystoreError` with code IO. */
export function wrap(error: unknown, key: string): AnystoreError {
  if (error instanceof AnystoreError) return error;
  return new AnystoreError(`${codeOf(error) ?? "error"}: ${(error as Error)?.message ?? error}`, { key, cause: error });
}

/** Reads a whole file of `size` bytes and closes the descriptor. Files are replaced by rename, never grown in place, so `size` holds. */
export async function readAll(fd: number, size: number): Promise<Uint8Array> {
  try {
    const buffer = new Uint8Array(size);
    let filled = 0;
    while (filled < size) {
      const n = await read(fd, buffer, filled, size - filled, filled);
      if (n === 0) return buffer.subarray(0, filled);
      filled += n;
    }
    return buffer;
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
async function createFile(path: string, mode: number): Promise<number> {
  const fd = await open(path, CREATE, mode & 0o777);
  if (mode & ~0o777) {
    const { mode: current } = await fstat(fd);
    await fchmod(fd, (current & 0o777) | (mode & ~0o777));
  }
  return fd;
}

/** Writes a whole new file; removes it on failure. */
export async function writeNew(path: string, bytes: Uint8Array, mode: number): Promise<void> {
  const fd = await createFile(path, mode);
  let written = false;
  try {
    await writeFully(fd, bytes);
    written = true;
  } finally {
    await close(fd).catch(() => {});
    if (!written) await unlinkQuiet(path);
  }
}

/**
 * A writable over a new temp file: `commit` runs after the last byte is on disk; an abort
 * or failure removes the temp file, so the previous value stays untouched.
 */
export async function writableFile(
  temp: string,
  mode: number,
  commit: () => Promise<void>,
  wrapError: (error: unknown) => Error,
): Promise<WritableStream<Uint8Array>> {
  const fd = await createFile(temp, mode).catch((error) => Promise.reject(wrapError(error)));
  let closed = false;
  const discard = async () => {
    if (!closed) await close(fd).catch(() => {});
    closed = true;
    await unlinkQuiet(temp);
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
      await close(fd);
      await commit();
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

/** Removes now-empty directories from `dir` up to (not including) `root`. */
export async function pruneEmptyDirs(root: string, dir: string): Promise<void> {
  while (dir.length > root.length && dir.startsWith(root)) {
    try {
      await rmdir(dir);
    } catch {
      return;
    }
    dir = dirname(dir);
  }
}

export async function readExpiry(path: string): Promise<number | null> {
  try {
    const text = await fs.promises.readFile(path, "utf8");
    const expiresAt = Number(text);
    return Number.isFinite(expiresAt) ? expiresAt : null;
  } catch {
    return null;
  }
}

export async function writeExpiry(path: string, expiresAt: number): Promise<void> {
  await fs.promises.mkdir(dirname(path), { recursive: true });
  const temp = join(dirname(path), `.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`);
  await fs.promises.writeFile(temp, String(expiresAt));
  await rename(temp, path);
}
