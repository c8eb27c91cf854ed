/** Small web-stream helpers shared by the store and the drivers. */

import type { ByteRange } from "./driver.js";
import { InvalidArgumentError } from "./errors.js";

const CHUNK = 64 * 1024;

/** A stream over bytes already in memory, in chunks of 64 KiB. */
export function bytesToStream(bytes: Uint8Array): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (offset >= bytes.byteLength) return controller.close();
      const end = Math.min(offset + CHUNK, bytes.byteLength);
      controller.enqueue(bytes.slice(offset, end));
      offset = end;
    },
  });
}

/** Reads a whole stream into one `Uint8Array`. */
export async function collect(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    reader.releaseLock();
  }
  return concat(chunks, size);
}

export function concat(chunks: Uint8Array[], size = chunks.reduce((n, c) => n + c.byteLength, 0)): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

/** Checks a range and returns it with defaults; throws `InvalidArgumentError` for a bad one. */
export function checkRange(range: ByteRange | undefined): ByteRange | undefined {
  if (range === undefined || (range.start === undefined && range.end === undefined)) return undefined;
  const { start = 0, end } = range;
  const bad = (n: number) => !Number.isInteger(n) || n < 0;
  if (bad(start) || (end !== undefined && (bad(end) || end < start))) {
    throw new InvalidArgumentError(`invalid byte range ${JSON.stringify(range)}: use 0 <= start <= end (end exclusive)`);
  }
  return end === undefined ? { start } : { start, end };
}

/** The slice of `bytes` a range names, clamped like `Blob.slice`. */
export function sliceBytes(bytes: Uint8Array, range: ByteRange | undefined): Uint8Array {
  if (!range) return bytes;
  return bytes.subarray(Math.min(range.start ?? 0, bytes.byteLength), Math.min(range.end ?? bytes.byteLength, bytes.byteLength));
}

/** Cuts a range out of a stream without holding more than one chunk. */
export function sliceStream(stream: ReadableStream<Uint8Array>, range: ByteRange): ReadableStream<Uint8Array> {
  const start = range.start ?? 0;
  const end = range.end ?? Infinity;
  let position = 0;
  return stream.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        const from = Math.max(start - position, 0);
        const to = Math.min(end - position, chunk.byteLength);
        position += chunk.byteLength;
        if (to > from) controller.enqueue(chunk.subarray(from, to));
        if (position >= end) controller.terminate();
      },
    }),
  );
}

/** A writable that gathers everything and hands it over once, on close. Used for drivers without native streamed writes. */
export function collectingWritable(onClose: (bytes: Uint8Array) => Promise<void>): WritableStream<Uint8Array> {
  const chunks: Uint8Array[] = [];
  return new WritableStream<Uint8Array>({
    write(chunk) {
      chunks.push(chunk.slice());
    },
    close() {
      return onClose(concat(chunks));
    },
    abort() {
      chunks.length = 0;
    },
  });
}

/** Splits bytes into lines on `\n`, dropping a trailing `\r`; a final `\n` yields no empty line. */
export function lineSplitter(): TransformStream<Uint8Array, Uint8Array> {
  let pending: Uint8Array[] = [];
  const emit = (parts: Uint8Array[], controller: TransformStreamDefaultController<Uint8Array>) => {
    let line = concat(parts);
    if (line.byteLength > 0 && line[line.byteLength - 1] === 13) line = line.subarray(0, -1);
    controller.enqueue(line);
  };
  return new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      let from = 0;
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, from)) {
        pending.push(chunk.subarray(from, i));
        emit(pending, controller);
        pending = [];
        from = i + 1;
      }
      if (from < chunk.byteLength) pending.push(chunk.slice(from));
    },
    flush(controller) {
      if (pending.length > 0) emit(pending, controller);
    },
  });
}

/** True for values `put` streams as raw bytes. */
export function isStreamLike(value: unknown): value is ReadableStream<Uint8Array> | Blob {
  // Strings and numbers skip the instanceof checks (Node's Blob global is a getter).
  if (typeof value !== "object" || value === null) return false;
  return (
    (typeof ReadableStream !== "undefined" && value instanceof ReadableStream) ||
    (typeof Blob !== "undefined" && value instanceof Blob)
  );
}
