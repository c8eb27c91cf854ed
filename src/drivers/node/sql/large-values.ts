/**
 * Large values in the SQL core. The SQL clients take a value whole (one parameter of one
 * statement), so a stream is gathered first, with as few copies as that allows: each chunk is
 * copied once into a buffer that grows in place, never concatenated, and a value over the
 * backend's limit fails as soon as it passes it, before more of it is held. Values larger than
 * one result row should carry are read back a chunk at a time. Runtime-neutral.
 */
import { AnystoreError, UnsupportedError } from "../../../core/errors.js";
import { toBytes } from "./rows.js";

/** How large a value may be, and what to tell someone whose value is larger. */
export interface ValueLimit {
  /** Bytes of value and key together, statement overhead not included. */
  bytes: number;
  /** Why, and how to raise it if it can be: ends the error message. */
  advice: string;
}

/** Room for the key and the statement around a value, within a backend's limit. */
const STATEMENT_ROOM = 64 * 1024;
/** Whole-value reads retried when the value is replaced between its chunks. */
const WHOLE_READ_ATTEMPTS = 3;

/** The size checks of one backend: what one statement can carry for a key's value, and the error past it. */
export function valueSizes(backend: string, limit: () => ValueLimit) {
  const maxValue = (key: string) => Math.max(0, limit().bytes - STATEMENT_ROOM - 3 * key.length);
  const tooLarge = (key: string, size: number) =>
    new UnsupportedError(
      `a value of ${size} bytes is too large for ${backend}, which takes at most ${maxValue(key)} here: ${limit().advice}`,
      { key },
    );
  const check = (key: string, size: number) => {
    if (size > maxValue(key)) throw tooLarge(key, size);
  };
  return { maxValue, tooLarge, check };
}

/**
 * A value read `chunk` bytes at a time into one buffer. `head()` gives the row's size, version
 * stamp and first chunk (undefined: no such key); `next(from, length, size, stamp)` a later chunk
 * of that same version (undefined: replaced meanwhile, and the read starts over, a few times).
 */
export async function readLarge(
  key: string,
  chunk: number,
  head: () => Promise<unknown[] | undefined>,
  next: (from: number, length: number, size: number, stamp: unknown) => Promise<unknown>,
): Promise<Uint8Array | null> {
  for (let attempt = 1; ; attempt++) {
    const row = await head();
    if (!row) return null;
    const [size, stamp] = [Number(row[0] ?? 0), row[1]];
    const out = new Uint8Array(size);
    let at = 0;
    for (let part: Uint8Array | undefined = toBytes(row[2]); part; ) {
      out.set(part, at);
      at += part.byteLength;
      if (at >= size) return out;
      const length = Math.min(chunk, size - at);
      const found = await next(at, length, size, stamp);
      part = found === undefined ? undefined : toBytes(found);
      if (part?.byteLength !== length) part = undefined;
    }
    if (attempt >= WHOLE_READ_ATTEMPTS)
      throw new AnystoreError("the value kept changing while it was being read", { key });
  }
}

/** An ArrayBuffer that grows in place (ES2024): its pages are reserved up front and used as it grows. */
type Resizable = ArrayBuffer & { resize(length: number): void; readonly maxByteLength: number };

const MiB = 1024 * 1024;

/** A resizable buffer of up to `max` bytes, or none where the runtime has none (or refuses the reservation). */
function growable(max: number): Resizable | undefined {
  try {
    const Ctor = ArrayBuffer as unknown as new (length: number, options: { maxByteLength: number }) => Resizable;
    const buffer = new Ctor(0, { maxByteLength: max });
    return typeof buffer.resize === "function" && buffer.maxByteLength === max ? buffer : undefined;
  } catch {
    return undefined;
  }
}

/** Gathers bytes into one growing buffer: one copy of each chunk. */
class Gathered {
  size = 0;
  #buffer: Resizable | undefined;
  #chunks: Uint8Array[] = [];

  constructor(readonly max: number) {
    this.#buffer = growable(max);
  }

  add(chunk: Uint8Array): void {
    const end = this.size + chunk.byteLength;
    if (this.#buffer) {
      // Grown by half again at a time: resizing is a system call, untouched pages cost no memory.
      if (end > this.#buffer.byteLength)
        this.#buffer.resize(Math.min(this.max, Math.max(end, this.#buffer.byteLength * 1.5, MiB)));
      new Uint8Array(this.#buffer, this.size, chunk.byteLength).set(chunk);
    } else {
      this.#chunks.push(chunk.slice());
    }
    this.size = end;
  }

  /** The value: a view of exactly `size` bytes (the fallback concatenates, holding the value twice for a moment). */
  bytes(): Uint8Array {
    if (this.#buffer) {
      this.#buffer.resize(this.size);
      return new Uint8Array(this.#buffer, 0, this.size);
    }
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const chunk of this.#chunks) {
      out.set(chunk, at);
      at += chunk.byteLength;
    }
    this.#chunks = [];
    return out;
  }

  drop(): void {
    this.#buffer = undefined;
    this.#chunks = [];
  }
}

/**
 * A writable that gathers a value and hands it to `onClose` once complete (an abort hands over
 * nothing). A value over `max` bytes rejects with `tooLarge(size)` at the chunk that passes the limit.
 */
export function gatheringWritable(
  max: number,
  tooLarge: (size: number) => Error,
  onClose: (bytes: Uint8Array) => Promise<void>,
): WritableStream<Uint8Array> {
  const gathered = new Gathered(max);
  return new WritableStream<Uint8Array>({
    write(chunk) {
      if (gathered.size + chunk.byteLength > max) {
        const size = gathered.size + chunk.byteLength;
        gathered.drop();
        throw tooLarge(size);
      }
      gathered.add(chunk);
    },
    async close() {
      const bytes = gathered.bytes();
      gathered.drop();
      await onClose(bytes);
    },
    abort() {
      gathered.drop();
    },
  });
}
