/**
 * What the fs driver does with one file, apart from where it lives: its info, a stream over it,
 * removing it, and the errors and name limits of file systems.
 */
import type { Stats } from "node:fs";
import type { ByteRange, DriverInfo } from "../../../core/driver/contract.js";
import type { AnystoreError } from "../../../core/errors.js";
import { ConflictError } from "../../../core/errors.js";
import * as io from "./io.js";

/** Removes a file (true), or nothing when it is missing (false) or a folder (null: a folder is no key). */
export async function unlinkFile(path: string): Promise<boolean | null> {
  try {
    return await io.unlinkQuiet(path);
  } catch (error) {
    const code = io.codeOf(error);
    // Linux says EISDIR for a folder, macOS EPERM (which may also be a real refusal: look).
    if (code === "EISDIR" || (code === "EPERM" && (await io.lstat(path).catch(() => null))?.isDirectory())) return null;
    throw error;
  }
}

/** The longest file name (in UTF-8 bytes) of Linux, macOS and Windows file systems. */
const NAME_MAX = 255;
const utf8Length = (text: string) => new TextEncoder().encode(text).byteLength;

/** Refuses a key with a segment no common file system can hold before any folder is made for it. */
export function refuseLongNames(key: string): void {
  if (key.length > NAME_MAX / 3 && key.split("/").some((segment) => utf8Length(segment) > NAME_MAX)) {
    throw io.wrap(Object.assign(new Error("name too long"), { code: "ENAMETOOLONG" }), key);
  }
}

export function folderConflict(key: string, cause?: unknown): ConflictError {
  return new ConflictError(`cannot write ${key}: it is a folder of other keys`, { key, cause });
}

export function conflictOr(error: unknown, key: string): AnystoreError {
  const code = io.codeOf(error);
  if (code === "EISDIR" || code === "ENOTEMPTY" || code === "ENOTDIR") return folderConflict(key, error);
  return io.wrap(error, key);
}

export function infoOf(stats: Stats): DriverInfo {
  return {
    size: stats.size,
    createdAt: stats.birthtimeMs > 0 ? stats.birthtime : null,
    updatedAt: stats.mtime,
    etag: `"${stats.size.toString(16)}-${Math.floor(stats.mtimeMs).toString(16)}"`,
  };
}

/** A web stream over an open descriptor (or a range of it); the descriptor closes with the stream. */
export async function streamFile(
  fd: number,
  stats: Stats,
  range: ByteRange | undefined,
): Promise<ReadableStream<Uint8Array>> {
  const start = Math.min(range?.start ?? 0, stats.size);
  const end = Math.min(range?.end ?? stats.size, stats.size);
  if (end <= start) {
    io.closeSoon(fd);
    return oneChunk(new Uint8Array(0));
  }
  if (end - start <= SMALL_READ) return oneChunk(await io.readRange(fd, start, end - start));
  return io.readableRange(fd, start, end);
}

/** Values up to this size are read at once, into one chunk: cheaper than a streamed read. */
const SMALL_READ = 64 * 1024;

export function oneChunk(bytes: Uint8Array): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      if (bytes.byteLength > 0) controller.enqueue(bytes);
      controller.close();
    },
  });
}
