/**
 * Reads one entry: its local header, then its data, stored or inflated by fflate, as bytes or
 * as a pull stream. Every size is checked against the central directory and the limits (entry
 * size, compression ratio, and for whole values the get size) before anything is allocated,
 * output past the declared size is an error as soon as it appears (zip bombs), inflating
 * yields to the event loop every few milliseconds, and the CRC-32 is verified whenever the whole
 * entry is read.
 */
import type { FileHandle } from "node:fs/promises";
import { Inflate, inflateSync } from "fflate";
import type { ByteRange } from "../../../core/driver/contract.js";
import { AnystoreError, UnsupportedError } from "../../../core/errors.js";
import type { Window } from "./directory.js";
import { readExactly } from "./directory.js";
import type { Entry } from "./format.js";
import { corrupt, crc32, FLAG, LOCAL_SIZE, METHOD, readU16, readU32, SIG } from "./format.js";

/** An open archive to read from. */
export interface Source {
  fh: FileHandle;
  path: string;
  /** Entry data must end before this position (the central directory). */
  dataEnd: number;
  /** Buffered sequential reads (rewrites); absent for random access. */
  window?: Window;
}

const readFrom = (src: Source, position: number, length: number) =>
  src.window ? src.window.read(position, length) : readExactly(src.fh, position, length, src.path);

/** Compressed bytes read per step; also bounds what one inflate step can produce (~1032x). */
const READ_CHUNK = 64 * 1024;
/** Values up to this size are read in one call and inflated in one go. */
const SMALL = 64 * 1024;
const MIN_SLICE = 1024;
const MAX_SLICE = 16 * 1024;
const TARGET_OUTPUT = 1048576;
const MAX_RATIO = 1040;
/** Entries up to this size are never refused for their compression ratio: they cannot cost much. */
export const RATIO_FLOOR = 16 * 1024 * 1024;
/** Inflating a whole value gives the event loop a turn this often (ms). */
const YIELD_MS = 10;

/** What the driver agrees to inflate (see the zip driver's options). */
export interface ReadLimits {
  /** Entries larger than this are refused, streamed or whole (IO). */
  maxEntrySize: number;
  /** Entries over RATIO_FLOOR inflating to more than this many times their compressed size are refused (IO). */
  maxRatio: number;
  /** Entries larger than this are refused by whole-value reads, `get` (UNSUPPORTED: stream them). */
  maxGetSize: number;
}

/** Where an entry's data starts, from its local header; with `withExtra`, the local extra block too. */
export { readFrom };

export async function locate(
  src: Source,
  e: Entry,
  withExtra = false,
): Promise<{ dataStart: number; localExtra: Uint8Array }> {
  const header = await readFrom(src, e.offset, LOCAL_SIZE);
  if (readU32(header, 0) !== SIG.local)
    throw corrupt(src.path, `no local header for ${JSON.stringify(e.name)} at byte ${e.offset}`);
  const nameLength = readU16(header, 26);
  const extraLength = readU16(header, 28);
  const dataStart = e.offset + LOCAL_SIZE + nameLength + extraLength;
  if (dataStart + e.csize > src.dataEnd)
    throw corrupt(src.path, `the data of ${JSON.stringify(e.name)} runs past the data area`);
  const localExtra =
    withExtra && extraLength ? await readFrom(src, e.offset + LOCAL_SIZE + nameLength, extraLength) : new Uint8Array(0);
  return { dataStart, localExtra };
}

/** Refuses what cannot be read: encryption, unknown methods, entries over the limits, inconsistent stored sizes. */
export function checkReadable(e: Entry, path: string, limits: ReadLimits): void {
  const { maxEntrySize, maxRatio } = limits;
  if (e.flags & FLAG.encrypted)
    throw new UnsupportedError(`zip entry ${JSON.stringify(e.name)} in ${path} is encrypted`);
  if (e.method !== METHOD.stored && e.method !== METHOD.deflated) {
    throw new UnsupportedError(
      `zip entry ${JSON.stringify(e.name)} in ${path} uses compression method ${e.method}; only stored and deflated are supported`,
    );
  }
  if (e.size > maxEntrySize) {
    throw new AnystoreError(
      `zip entry ${JSON.stringify(e.name)} in ${path} is ${e.size} bytes, over maxEntrySize (${maxEntrySize})`,
    );
  }
  if (e.method === METHOD.stored && e.csize !== e.size)
    throw corrupt(path, `stored entry ${JSON.stringify(e.name)} has two different sizes`);
  // Deflate expands at most ~1032:1, so a larger declared size is a lie (and no buffer is sized by it).
  if (e.method === METHOD.deflated && e.size > e.csize * MAX_RATIO + 1024) {
    throw corrupt(path, `entry ${JSON.stringify(e.name)} declares ${e.size} bytes from ${e.csize} compressed`);
  }
  if (e.method === METHOD.deflated && e.size > RATIO_FLOOR && e.size > e.csize * maxRatio) {
    throw new AnystoreError(
      `zip entry ${JSON.stringify(e.name)} in ${path} inflates ${Math.round(e.size / Math.max(e.csize, 1))} times ` +
        `(${e.size} bytes from ${e.csize}), over maxRatio (${maxRatio}): a zip bomb, or data compressible enough to need a higher maxRatio`,
    );
  }
}

/**
 * fflate's streaming inflate with the declared size and CRC enforced. Input goes in slices
 * sized so one slice inflates to about 256 KiB at the entry's declared ratio (1-16 KiB): one
 * step's output, and fflate's copies of it, stay small even for highly compressible data.
 */
class Inflater {
  total = 0;
  crc = 0;
  readonly slice: number;
  readonly #inflate = new Inflate();
  #pending: Uint8Array = new Uint8Array(0);
  constructor(
    readonly e: Entry,
    readonly path: string,
    onData: (chunk: Uint8Array) => void,
  ) {
    const ratio = e.size / Math.max(e.csize, 1);
    this.slice = Math.min(
      MAX_SLICE,
      Math.max(MIN_SLICE, 2 ** Math.floor(Math.log2(TARGET_OUTPUT / Math.max(ratio, 1)))),
    );
    this.#inflate.ondata = (chunk) => {
      this.total += chunk.length;
      if (this.total > e.size)
        throw corrupt(path, `entry ${JSON.stringify(e.name)} inflates past its declared size of ${e.size} bytes`);
      this.crc = crc32(chunk, this.crc);
      if (chunk.length) onData(chunk);
    };
  }

  /** Compressed input waits here until `step` takes it, a slice at a time. */
  add(compressed: Uint8Array): void {
    this.#pending = this.#pending.length ? Buffer.concat([this.#pending, compressed]) : compressed;
  }

  get hasInput(): boolean {
    return this.#pending.length > 0;
  }

  /** Inflates one slice; `final` when it holds the last compressed bytes. */
  step(final: boolean): void {
    const slice = this.#pending.subarray(0, this.slice);
    this.#pending = this.#pending.subarray(slice.length);
    try {
      this.#inflate.push(slice, final && this.#pending.length === 0);
    } catch (error) {
      if (error instanceof AnystoreError) throw error;
      throw corrupt(
        this.path,
        `bad deflate data in ${JSON.stringify(this.e.name)}: ${(error as Error).message}`,
        error,
      );
    }
  }

  finish(): void {
    if (this.total !== this.e.size)
      throw corrupt(
        this.path,
        `entry ${JSON.stringify(this.e.name)} inflates to ${this.total} bytes, not ${this.e.size}`,
      );
    checkCrc(this.e, this.crc, this.path);
  }
}

function checkCrc(e: Entry, crc: number, path: string): void {
  if (crc !== e.crc) throw corrupt(path, `CRC-32 mismatch in ${JSON.stringify(e.name)}`);
}

/** The whole value of an entry, in memory (for `get`). */
export async function entryBytes(src: Source, e: Entry, limits: ReadLimits): Promise<Uint8Array> {
  checkReadable(e, src.path, limits);
  if (e.size > limits.maxGetSize) {
    throw new UnsupportedError(
      `zip entry ${JSON.stringify(e.name)} in ${src.path} is ${e.size} bytes, over maxGetSize (${limits.maxGetSize}) for a whole value: read it as a stream (open, stream), or raise maxGetSize`,
    );
  }
  if (e.method === METHOD.deflated && e.size > SMALL) return inflateWhole(src, e);
  const data = await readData(src, e);
  if (e.method === METHOD.stored) {
    checkCrc(e, crc32(data), src.path);
    // No view into a larger buffer (the header's, or a read window shared by other entries).
    return data.byteOffset === 0 && data.byteLength === data.buffer.byteLength ? data : data.slice();
  }
  // One call for small values; one spare byte in `out` shows output past the declared size.
  let out: Uint8Array;
  try {
    out = inflateSync(data, { out: new Uint8Array(e.size + 1) });
  } catch (error) {
    throw corrupt(src.path, `bad deflate data in ${JSON.stringify(e.name)}: ${(error as Error).message}`, error);
  }
  if (out.length > e.size)
    throw corrupt(src.path, `entry ${JSON.stringify(e.name)} inflates past its declared size of ${e.size} bytes`);
  if (out.length < e.size)
    throw corrupt(src.path, `entry ${JSON.stringify(e.name)} inflates to ${out.length} bytes, not ${e.size}`);
  checkCrc(e, crc32(out), src.path);
  return out;
}

/**
 * A large deflated entry into one buffer of its declared size: compressed data read and
 * inflated a slice at a time (the only large allocation is the value itself), with a turn for
 * the event loop every YIELD_MS.
 */
async function inflateWhole(src: Source, e: Entry): Promise<Uint8Array> {
  const { dataStart } = await locate(src, e);
  const out = new Uint8Array(e.size);
  const inflater = new Inflater(e, src.path, (chunk) => out.set(chunk, inflater.total - chunk.length));
  let read = 0;
  let turn = Date.now();
  while (read < e.csize || inflater.hasInput) {
    if (!inflater.hasInput) {
      const compressed = await readFrom(src, dataStart + read, Math.min(READ_CHUNK, e.csize - read));
      read += compressed.length;
      inflater.add(compressed);
    }
    inflater.step(read >= e.csize);
    if (Date.now() - turn > YIELD_MS) {
      await new Promise((resolve) => setImmediate(resolve));
      turn = Date.now();
    }
  }
  inflater.finish();
  return out;
}

/**
 * An entry's compressed bytes. Small entries take one read: the local header is assumed to be
 * about as long as the central record says, with some slack, and read together with the data.
 */
async function readData(src: Source, e: Entry): Promise<Uint8Array> {
  const guess = LOCAL_SIZE + e.nameBytes.length + e.extra.length + 64 + e.csize;
  if (e.csize > SMALL || e.offset + guess > src.dataEnd) {
    const { dataStart } = await locate(src, e);
    return readFrom(src, dataStart, e.csize);
  }
  const bytes = await readFrom(src, e.offset, guess);
  if (readU32(bytes, 0) !== SIG.local)
    throw corrupt(src.path, `no local header for ${JSON.stringify(e.name)} at byte ${e.offset}`);
  const from = LOCAL_SIZE + readU16(bytes, 26) + readU16(bytes, 28);
  if (e.offset + from + e.csize > src.dataEnd)
    throw corrupt(src.path, `the data of ${JSON.stringify(e.name)} runs past the data area`);
  if (from + e.csize <= bytes.length) return bytes.subarray(from, from + e.csize);
  return readFrom(src, e.offset + from, e.csize);
}

/**
 * A pull stream of an entry (or a range of it). At most 64 KiB of compressed data is held and
 * one slice inflated per step, so memory stays bounded whatever the entry's size; `onEnd` runs once
 * when the stream finishes, fails or is cancelled.
 */
export function entryStream(
  src: Source,
  e: Entry,
  range: ByteRange | undefined,
  limits: ReadLimits,
  onEnd: () => void,
): ReadableStream<Uint8Array> {
  checkReadable(e, src.path, limits);
  const start = Math.min(range?.start ?? 0, e.size);
  const end = Math.min(range?.end ?? e.size, e.size);
  const whole = start === 0 && end === e.size;
  let ended = false;
  const done = () => {
    if (ended) return;
    ended = true;
    onEnd();
  };
  let dataStart = -1;
  let read = 0; // compressed bytes read so far
  let produced = 0; // uncompressed bytes seen so far
  let crc = 0;
  let inflater: Inflater | undefined;
  let queue: Uint8Array[] = [];

  /** Keeps the part of an inflated chunk that falls in the range. */
  const keep = (chunk: Uint8Array) => {
    const from = Math.max(start - produced, 0);
    const to = Math.min(end - produced, chunk.length);
    produced += chunk.length;
    if (to > from) queue.push(from === 0 && to === chunk.length ? chunk : chunk.subarray(from, to));
  };

  let emitted = false;
  const step = async (controller: ReadableStreamDefaultController<Uint8Array>): Promise<boolean> => {
    const emit = (chunk: Uint8Array) => {
      emitted = true;
      controller.enqueue(chunk);
    };
    if (dataStart < 0) {
      dataStart = (await locate(src, e)).dataStart;
      if (e.method === METHOD.stored) read = start;
      else inflater = new Inflater(e, src.path, keep);
    }
    if (e.method === METHOD.stored) {
      if (read >= end) {
        if (whole) checkCrc(e, crc, src.path);
        return true;
      }
      const chunk = await readExactly(src.fh, dataStart + read, Math.min(READ_CHUNK * 4, end - read), src.path);
      read += chunk.length;
      if (whole) crc = crc32(chunk, crc);
      emit(chunk);
      return false;
    }
    if (!inflater!.hasInput && read < e.csize) {
      const compressed = await readExactly(src.fh, dataStart + read, Math.min(READ_CHUNK, e.csize - read), src.path);
      read += compressed.length;
      inflater!.add(compressed);
    }
    const final = read >= e.csize;
    inflater!.step(final);
    for (const chunk of queue) emit(chunk);
    queue = [];
    if (produced >= end && !whole) return true; // the range is served; the rest need not be inflated
    if (final && !inflater!.hasInput) {
      inflater!.finish();
      return true;
    }
    return false;
  };

  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          if (start >= end && !whole) {
            done();
            return controller.close();
          }
          // Loop until something is enqueued: a pull that enqueues nothing would never be called again.
          emitted = false;
          for (;;) {
            if (await step(controller)) {
              done();
              return controller.close();
            }
            if (emitted) return;
          }
        } catch (error) {
          done();
          throw error;
        }
      },
      cancel() {
        done();
      },
    },
    { highWaterMark: 1 },
  );
}
