/** Stream helpers for tests that also run outside vitest (child processes started with tsx). */

/** The value as a stream of two chunks, split in the middle: a streamed write in more than one piece. */
export function inTwoChunks(value: Uint8Array): ReadableStream<Uint8Array> {
  const half = value.byteLength >> 1;
  return new ReadableStream({
    start(controller) {
      controller.enqueue(value.slice(0, half));
      controller.enqueue(value.slice(half));
      controller.close();
    },
  });
}
