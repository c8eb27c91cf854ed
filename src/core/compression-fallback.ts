/**
 * fflate's streaming codecs as web streams, for runtimes whose CompressionStream lacks a format
 * (Node 20 before deflate-raw, browsers before 2023). Loaded only there. Web APIs only.
 */

import { Deflate, type FlateStreamHandler, Gunzip, Gzip, Inflate, Unzlib, Zlib } from "fflate";

/** compression.ts's `Compression`, spelled out here: that module imports this one. */
type Compression = "gzip" | "deflate" | "deflate-raw";

interface FflateStream {
  ondata: FlateStreamHandler;
  push(chunk: Uint8Array, final?: boolean): void;
}

/** Input goes in slices of this size, so one step's output stays small even for highly compressible data. */
const SLICE = 64 * 1024;

function make(format: Compression, direction: "compress" | "decompress"): FflateStream {
  if (direction === "compress") {
    if (format === "gzip") return new Gzip({ mtime: 0 });
    return format === "deflate" ? new Zlib() : new Deflate();
  }
  if (format === "gzip") return new Gunzip();
  return format === "deflate" ? new Unzlib() : new Inflate();
}

/**
 * A TransformStream over fflate's push API. A corrupt input errors it; for gzip the trailer is
 * checked here (CRC-32 and size of everything inflated), since fflate's streaming gunzip hands out
 * what it got from a cut input without a word. That check takes one gzip member per value, which
 * is what anystore (and Python anystore) write.
 */
export function fflateCodec(
  format: Compression,
  direction: "compress" | "decompress",
): ReadableWritablePair<Uint8Array, Uint8Array> {
  const codec = make(format, direction);
  const check = format === "gzip" && direction === "decompress" ? gzipTrailerCheck() : undefined;
  let sink: TransformStreamDefaultController<Uint8Array> | undefined;
  codec.ondata = (data) => {
    if (data.byteLength === 0) return;
    check?.output(data);
    sink!.enqueue(data);
  };
  return new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      sink = controller;
      check?.input(chunk);
      for (let at = 0; at < chunk.byteLength; at += SLICE) codec.push(chunk.subarray(at, at + SLICE));
    },
    flush(controller) {
      sink = controller;
      codec.push(new Uint8Array(0), true);
      check?.end();
    },
  });
}

/** Compares a gzip stream's trailer (its last 8 bytes: CRC-32, size mod 2^32) with what was inflated. */
function gzipTrailerCheck() {
  const tail = new Uint8Array(8);
  let seen = 0;
  let crc = 0xffffffff;
  let size = 0;
  return {
    input(chunk: Uint8Array) {
      const keep = Math.min(chunk.byteLength, 8);
      tail.copyWithin(0, keep);
      tail.set(chunk.subarray(chunk.byteLength - keep), 8 - keep);
      seen += chunk.byteLength;
    },
    output(data: Uint8Array) {
      const table = crcTableOf();
      for (let i = 0; i < data.byteLength; i++) crc = table[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
      size = (size + data.byteLength) % 2 ** 32;
    },
    end() {
      const view = new DataView(tail.buffer);
      const ok = seen >= 18 && view.getUint32(0, true) === (crc ^ 0xffffffff) >>> 0 && view.getUint32(4, true) === size;
      if (!ok) throw new Error("gzip data cut short or corrupt (its trailer does not match)");
    },
  };
}

let crcTable: Uint32Array | undefined;

/** The CRC-32 table (gzip's polynomial), made on first use: nothing runs at import time. */
function crcTableOf(): Uint32Array {
  if (crcTable) return crcTable;
  crcTable = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    crcTable[n] = c >>> 0;
  }
  return crcTable;
}
