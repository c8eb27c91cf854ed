/**
 * Compression of stored values (SPEC 14): gzip, deflate (zlib) and deflate-raw through the web
 * platform's CompressionStream/DecompressionStream, so memory stays bounded for any size and
 * nothing is bundled (fflate, loaded on demand, only where a runtime lacks a format). Part of
 * the store's lazy half. Web APIs only.
 */

import type { ErrorDetails } from "./errors.js";
import { InvalidArgumentError, isAnystoreError, SerializationError, UnsupportedError } from "./errors.js";
import { bytesToStream } from "./streams/from-bytes.js";
import { collect } from "./streams/to-bytes.js";

/** The formats values can be compressed with. */
export type Compression = "gzip" | "deflate" | "deflate-raw";

const FORMATS: readonly string[] = ["gzip", "deflate", "deflate-raw"];
/** Python anystore's names (`CompressKind`) for gzip. */
const ALIASES: Record<string, Compression> = { gz: "gzip" };
/** Python anystore's other codecs, which no web platform API decodes. */
const PYTHON_ONLY = ["bz2", "bzip2", "bz", "xz", "lzma", "zst", "zstd", "zstandard", "lz4", "lz4frame"];

/** The format a `compression` option names; `InvalidArgumentError` or, for Python's other codecs, `UnsupportedError`. */
export function checkCompression(value: unknown): Compression {
  const name = typeof value === "string" ? value.trim().toLowerCase().replace(/^\./, "") : "";
  if (FORMATS.includes(name)) return name as Compression;
  if (name in ALIASES) return ALIASES[name]!;
  if (PYTHON_ONLY.includes(name))
    throw new UnsupportedError(
      `compression ${JSON.stringify(value)} is one of Python anystore's codecs that no browser or Node API decodes: ` +
        `use "gzip" (Python's "gz") for values both sides read, or decompress such values in Python`,
    );
  throw new InvalidArgumentError(
    `unknown compression ${JSON.stringify(value)}: use "gzip", "deflate" or "deflate-raw"`,
  );
}

/** A pair of streams that compresses (or decompresses) what goes through it. */
type Codec = ReadableWritablePair<Uint8Array, Uint8Array>;

/** The platform's codec; undefined where it lacks the format (Node 20 before deflate-raw, older browsers). */
function platformCodec(format: Compression, direction: "compress" | "decompress"): Codec | undefined {
  const Stream = direction === "compress" ? globalThis.CompressionStream : globalThis.DecompressionStream;
  if (typeof Stream !== "function") return undefined;
  try {
    return new Stream(format) as unknown as Codec;
  } catch {
    return undefined;
  }
}

async function codecFor(format: Compression, direction: "compress" | "decompress"): Promise<Codec> {
  const native = platformCodec(format, direction);
  if (native) return native;
  const { fflateCodec } = await import("./compression-fallback.js");
  return fflateCodec(format, direction);
}

/**
 * A gzip header as Python anystore's `GzipFile(filename="", mtime=0)` writes it: no name, mtime
 * 0 (CompressionStream's too) and the OS byte "unknown" (255), where zlib writes its build's own.
 * Patched in place at its absolute offset, whatever chunk holds it.
 */
function pythonGzipHeader(): TransformStream<Uint8Array, Uint8Array> {
  const OS_BYTE = 9;
  let offset = 0;
  return new TransformStream({
    transform(chunk, controller) {
      if (offset <= OS_BYTE && offset + chunk.byteLength > OS_BYTE) {
        chunk = chunk.slice();
        chunk[OS_BYTE - offset] = 255;
      }
      offset += chunk.byteLength;
      controller.enqueue(chunk);
    },
  });
}

/** `source` compressed, as a stream; a gzip header is Python anystore's. */
export function compressStream(source: ReadableStream<Uint8Array>, format: Compression): ReadableStream<Uint8Array> {
  const compressed = through(source, format, "compress", {});
  return format === "gzip" ? compressed.pipeThrough(pythonGzipHeader()) : compressed;
}

/** Bytes compressed. */
export function compressBytes(bytes: Uint8Array, format: Compression): Promise<Uint8Array> {
  return collect(compressStream(bytesToStream(bytes), format));
}

/**
 * A writable that compresses into `sink`: closing it resolves once `sink` has closed (a
 * driver's write commits on close), aborting it aborts `sink`.
 */
export function compressingWritable(sink: WritableStream<Uint8Array>, format: Compression): WritableStream<Uint8Array> {
  const input = new TransformStream<Uint8Array, Uint8Array>();
  const piped = compressStream(input.readable, format).pipeTo(sink);
  piped.catch(() => {}); // surfaces through write, close or abort below
  const writer = input.writable.getWriter();
  return new WritableStream<Uint8Array>({
    // A sink that fails (the key exists, the disk is full) cancels the pipe back to `input`, which
    // fails the write under way. (No race against `piped` per write: each would leave a reaction
    // on it until the end, memory growing with the value's size.)
    write: (chunk) => writer.write(chunk),
    async close() {
      await writer.close();
      await piped;
    },
    async abort(reason) {
      await writer.abort(reason).catch(() => {});
      await piped.catch(() => {});
    },
  });
}

/**
 * `source` decompressed. An empty value reads as empty (as Python's gzip module reads an empty
 * file); a value that is not `format` data, or is cut short, errors the stream with
 * `SerializationError`. Errors of the source itself (an unreachable backend) pass as they are.
 */
export function decompressStream(
  source: ReadableStream<Uint8Array>,
  format: Compression,
  details: ErrorDetails = {},
): ReadableStream<Uint8Array> {
  return through(source, format, "decompress", details);
}

/** Decompression input goes in slices of this size: what one slice inflates to is all that waits in the codec. */
const SLICE = 16 * 1024;

/**
 * `source` through a codec. The codec is fed in the background one write at a time, each awaited,
 * and its output read as the reader asks, so the codec's own backpressure (a write waits while
 * its output is unread) bounds what waits in it. Never `pipeThrough`: Node's codecs count their
 * writable's high-water mark in chunks (16,384 of them), so a pipe would queue a whole large value
 * in front of the codec (measured: RSS grew with the value's size).
 */
function through(
  source: ReadableStream<Uint8Array>,
  format: Compression,
  direction: "compress" | "decompress",
  details: ErrorDetails,
): ReadableStream<Uint8Array> {
  const input = source.getReader();
  let output: ReadableStreamDefaultReader<Uint8Array> | undefined;
  let sourceError: { error: unknown } | undefined;
  const readSource = async () => {
    try {
      return await input.read();
    } catch (error) {
      sourceError = { error };
      throw error;
    }
  };
  const explain = (error: unknown) =>
    (sourceError && error === sourceError.error) || isAnystoreError(error) || direction === "compress"
      ? error
      : new SerializationError(
          `the stored value is not valid ${format} data (${(error as Error)?.message ?? String(error)})`,
          { ...details, cause: error },
        );

  /** Writes `first`, then the rest of the source, into the codec; a failure aborts it, which errors its output. */
  const feed = async (first: Uint8Array | undefined, writer: WritableStreamDefaultWriter<Uint8Array>) => {
    try {
      let chunk = first ?? (await readSource()).value;
      while (chunk) {
        const step = direction === "decompress" ? SLICE : chunk.byteLength;
        for (let at = 0; at < chunk.byteLength; at += step) await writer.write(chunk.subarray(at, at + step));
        chunk = (await readSource()).value;
      }
      await writer.close();
    } catch (error) {
      await writer.abort(error).catch(() => {});
    }
  };

  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          if (!output) {
            let first: Uint8Array | undefined;
            if (direction === "decompress") {
              let next = await readSource();
              while (!next.done && next.value.byteLength === 0) next = await readSource();
              if (next.done) return controller.close();
              first = next.value;
            }
            const codec = await codecFor(format, direction);
            output = codec.readable.getReader();
            feed(first, codec.writable.getWriter());
          }
          const { done, value } = await output.read();
          if (done) controller.close();
          else controller.enqueue(value);
        } catch (error) {
          input.cancel(error).catch(() => {});
          controller.error(explain(error));
        }
      },
      async cancel(reason) {
        await Promise.all([output?.cancel(reason), input.cancel(reason)]).catch(() => {});
      },
    },
    { highWaterMark: 0 },
  );
}

/** Bytes decompressed; `SerializationError` when they are not `format` data. */
export function decompressBytes(bytes: Uint8Array, format: Compression, details?: ErrorDetails): Promise<Uint8Array> {
  return collect(decompressStream(bytesToStream(bytes), format, details));
}
