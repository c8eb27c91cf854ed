/**
 * Bytes already in memory as a stream: what drivers that hold whole values (IndexedDB, SQL,
 * memory) serve reads with, and the slice of them a range names.
 */

import type { ByteRange } from "../driver/contract.js";

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

/** The slice of `bytes` a range names, clamped like `Blob.slice`. */
export function sliceBytes(bytes: Uint8Array, range: ByteRange | undefined): Uint8Array {
  if (!range) return bytes;
  return bytes.subarray(
    Math.min(range.start ?? 0, bytes.byteLength),
    Math.min(range.end ?? bytes.byteLength, bytes.byteLength),
  );
}
