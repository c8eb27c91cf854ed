/**
 * The server side of `GET /{prefix}/?watch=true` (SPEC 11): a store's watch as server-sent events.
 * Each change is `event: put|delete|resync` with the key (relative to the request's prefix) as
 * `data:`; a comment goes out every `KEEPALIVE_MS` so that proxies and clients know the stream is
 * alive. Events are pulled from the watch as the client reads, so a slow client leaves them in
 * the watch's own bounded, per-key queue. The stream ends, and the watch with it, when the client
 * goes (the request's signal) or the store closes. Web APIs only.
 */

import type { Store, WatchEvent, WatchIterator } from "../types.js";

/** At most this long between two writes on an event stream (SPEC 11 asks for at least every 15 s). */
export const KEEPALIVE_MS = 15_000;

const encoder = new TextEncoder();

/** One event in the event-stream format; a key with line breaks takes one `data:` line per line. */
export function eventFrame(event: WatchEvent): string {
  if (event.type === "resync") return "event: resync\ndata:\n\n";
  return `event: ${event.type}\n${event.key
    .split(/\r\n|\r|\n/)
    .map((line) => `data: ${line}\n`)
    .join("")}\n`;
}

const NOTHING_YET = Symbol("nothing yet");

/**
 * Starts watching `store` and answers with the event stream once the watch listens; a watch
 * that fails at once (a store that cannot be watched) throws here, so the client gets a status.
 */
export async function eventStream(
  store: Store,
  opts: { prefix?: string; glob?: string },
  signal: AbortSignal,
): Promise<Response> {
  const ending = new AbortController();
  const events: WatchIterator = store.watch({ ...opts, signal: ending.signal });
  await events.ready;
  // A failed start ends the watch with its error, which the first read then rejects with at once.
  let first: Promise<IteratorResult<WatchEvent>> | undefined = events.next();
  const early = await Promise.race([
    first.then(
      () => NOTHING_YET,
      (error: unknown) => ({ error }),
    ),
    new Promise<typeof NOTHING_YET>((resolve) => setTimeout(() => resolve(NOTHING_YET), 0)),
  ]);
  if (early !== NOTHING_YET) {
    ending.abort();
    throw (early as { error: unknown }).error;
  }
  let keepalive: ReturnType<typeof setInterval> | undefined;
  const stop = () => {
    clearInterval(keepalive);
    ending.abort();
  };
  if (signal.aborted) stop();
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      // The opening comment gets the headers out at once: the client knows it is listening.
      controller.enqueue(encoder.encode(": watching\n\n"));
      keepalive = setInterval(() => {
        try {
          if ((controller.desiredSize ?? 0) > 0) controller.enqueue(encoder.encode(": keepalive\n\n"));
        } catch {
          clearInterval(keepalive);
        }
      }, KEEPALIVE_MS);
      signal.addEventListener(
        "abort",
        () => {
          stop();
          try {
            controller.close();
          } catch {
            // already closed or cancelled
          }
        },
        { once: true },
      );
    },
    async pull(controller) {
      const read = first ?? events.next();
      first = undefined;
      let result: IteratorResult<WatchEvent>;
      try {
        result = await read;
      } catch {
        // The watch failed after the answer started: the end of the stream tells the client to reconnect.
        result = { done: true, value: undefined };
      }
      if (result.done) {
        stop();
        try {
          controller.close();
        } catch {
          // cancelled meanwhile
        }
        return;
      }
      controller.enqueue(encoder.encode(eventFrame(result.value)));
    },
    cancel: stop,
  });
  return new Response(body, {
    status: 200,
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache, no-transform",
      // nginx would otherwise buffer the stream
      "x-accel-buffering": "no",
    },
  });
}
