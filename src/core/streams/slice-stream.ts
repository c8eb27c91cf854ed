import type { ByteRange } from "../driver/contract.js";

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
