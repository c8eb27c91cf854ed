/**
 * Streamed writes for the SQL core. The SQL clients take a value whole (one parameter of one
 * statement), so a stream is gathered first, with as few copies as that allows: each chunk is
 * copied once into a buffer that grows in place, never concatenated, and a value over the
 * backend's limit fails as soon as it passes it, before more of it is held. Runtime-neutral.
 */

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
      if (end > this.#buffer.byteLength) this.#buffer.resize(Math.min(this.max, Math.max(end, this.#buffer.byteLength * 1.5, MiB)));
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
export function gatheringWritable(max: number, tooLarge: (size: number) => Error, onClose: (bytes: Uint8Array) => Promise<void>): WritableStream<Uint8Array> {
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
