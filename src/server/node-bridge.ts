/**
 * Between `node:http` and web streams, for `serve`: request bodies in (with backpressure and a
 * minimum rate), responses out (with backpressure, surviving a client that goes away). Node only.
 */

import type { IncomingMessage, ServerResponse } from "node:http";
import { drained } from "../runtime/node/drained.js";

/** How long the rest of a refused upload is read and dropped before the connection is cut. */
const LINGER_MS = 5000;

/** While the server reads a body, each `windowMs` must bring at least `minBytes`. */
export interface BodyPace {
  windowMs: number;
  minBytes: number;
}

/** Why a body stream failed when its client sent too slowly. */
export class SlowBodyError extends Error {
  override name = "SlowBodyError";
}

/**
 * Measures a body in windows, but only while we read: time the server spends applying
 * backpressure (a slow store) is not the client's fault. A body that falls short in a window
 * calls `onSlow`.
 */
function pacer(
  pace: BodyPace | undefined,
  onSlow: () => void,
): { flowing(): void; paused(): void; received(n: number): void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let bytes = 0;
  const stop = () => {
    clearTimeout(timer);
    timer = undefined;
  };
  const arm = () => {
    stop();
    if (!pace || !(pace.windowMs > 0 && Number.isFinite(pace.windowMs))) return;
    bytes = 0;
    timer = setTimeout(() => (bytes < pace.minBytes ? onSlow() : arm()), pace.windowMs);
    timer.unref();
  };
  const received = (n: number) => {
    bytes += n;
  };
  return { flowing: arm, paused: stop, received };
}

/**
 * The request body as a web stream with backpressure. Cancelling it (a 413, a refused write)
 * does not destroy the socket, which would reset the connection before the client reads the
 * answer: the rest is read and dropped (see `linger`). A client sending slower than `pace`
 * fails the stream and loses its connection. `abandon` (once the answer is out) stops queueing
 * what still comes, so `linger` can drop it.
 */
export function bodyOf(req: IncomingMessage, pace?: BodyPace): { body: ReadableStream<Uint8Array>; abandon(): void } {
  req.pause();
  let settled = false;
  let paused = true;
  let fail: (error: unknown) => void = () => {};
  const clock = pacer(pace, () => {
    fail(new SlowBodyError(`request body slower than ${pace!.minBytes} bytes per ${pace!.windowMs} ms`));
    req.socket.destroy();
  });
  const body = new ReadableStream<Uint8Array>(
    {
      start(controller) {
        const finish = (error?: unknown) => {
          if (settled) return;
          settled = true;
          clock.paused();
          if (error === undefined) controller.close();
          else controller.error(error);
        };
        fail = finish;
        req.on("data", (chunk: Buffer) => {
          if (settled) return;
          clock.received(chunk.byteLength);
          controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
          if ((controller.desiredSize ?? 0) <= 0) {
            paused = true;
            clock.paused();
            req.pause();
          }
        });
        req.once("end", () => finish());
        req.once("error", (error) => finish(error));
        req.once("close", () => {
          if (!req.complete) finish(new Error("the client went away mid-upload"));
        });
      },
      pull() {
        if (!paused || settled) return;
        paused = false;
        clock.flowing();
        req.resume();
      },
      cancel() {
        settled = true;
        clock.paused();
        req.resume();
      },
    },
    { highWaterMark: 256 * 1024, size: (chunk) => chunk.byteLength },
  );
  const abandon = () => {
    settled = true;
    clock.paused();
  };
  return { body, abandon };
}

/** After an early answer, drops the rest of the upload for a while, then cuts the connection. */
export function linger(req: IncomingMessage): void {
  if (req.complete) return;
  req.resume();
  const timer = setTimeout(() => req.socket.destroy(), LINGER_MS);
  timer.unref();
  req.once("end", () => clearTimeout(timer));
}

/** A short text answer that closes the connection, for requests refused before the handler. */
export function refuse(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  const body = Buffer.from(`${text}\n`);
  res.writeHead(status, {
    "content-type": "text/plain; charset=utf-8",
    "content-length": String(body.byteLength),
    connection: "close",
    ...headers,
  });
  res.end(body);
}

/** Writes a web response to Node's, honouring backpressure and a client that goes away. */
export async function send(response: Response, res: ServerResponse, req: IncomingMessage): Promise<void> {
  const body = response.body;
  if (res.destroyed) return void (await body?.cancel().catch(() => {}));
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    headers[name] = value;
  });
  // No body: say so, or Node falls back to chunked encoding for an empty answer.
  if (!body && response.status !== 204 && response.status !== 304 && headers["content-length"] === undefined) {
    headers["content-length"] = "0";
  }
  try {
    res.writeHead(response.status, headers);
  } catch (error) {
    // A header value Node refuses (a stored content type with a line break): a body is no help now.
    await body?.cancel().catch(() => {});
    throw error;
  }
  if (!body || req.method === "HEAD") {
    await body?.cancel().catch(() => {});
    res.end();
    return;
  }
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done || res.destroyed) break;
      if (!res.write(value)) await drained(res);
      if (res.destroyed) break;
    }
    if (res.destroyed) await reader.cancel().catch(() => {});
    else res.end();
  } catch (error) {
    // The stream failed mid-answer: the status is sent, so the only honest signal left is a cut.
    res.destroy();
    await reader.cancel(error).catch(() => {});
  }
}
