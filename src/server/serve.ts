/**
 * A thin `node:http` adapter for `createHandler`: requests and responses stream through
 * with backpressure, so no body is ever held whole. Node only.
 */

import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { HandlerOptions } from "../core/http-handler.js";
import { createHandler, isUnsafePath } from "../core/http-handler.js";
import type { Store } from "../core/types.js";

export interface ServeOptions extends HandlerOptions {
  /**
   * The interface to listen on. Loopback by default: exposing a store is a deliberate choice.
   * @default "127.0.0.1"
   */
  host?: string;
  /**
   * The port; 0 picks a free one (read it from the resolved `url`).
   * @default 0
   */
  port?: number;
  /**
   * Sockets idle for this long (ms) are closed; 0 never.
   * @default 120000
   */
  idleTimeout?: number;
}

/** A running server. */
export interface RunningServer {
  /** `http://host:port`, ready for `anystore+` in front. */
  url: string;
  /** Stops listening and closes every connection. */
  close(): Promise<void>;
}

/** How long the rest of a refused upload is read and dropped before the connection is cut. */
const LINGER_MS = 5000;

/**
 * The request body as a web stream with backpressure. Cancelling it (a 413, a refused write)
 * does not destroy the socket, which would reset the connection before the client reads the
 * answer: the rest is read and dropped (see `linger`).
 */
function bodyOf(req: IncomingMessage): ReadableStream<Uint8Array> {
  req.pause();
  let settled = false;
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        const finish = (error?: unknown) => {
          if (settled) return;
          settled = true;
          if (error === undefined) controller.close();
          else controller.error(error);
        };
        req.on("data", (chunk: Buffer) => {
          if (settled) return;
          controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
          if ((controller.desiredSize ?? 0) <= 0) req.pause();
        });
        req.once("end", () => finish());
        req.once("error", (error) => finish(error));
        req.once("close", () => {
          if (!req.complete) finish(new Error("the client went away mid-upload"));
        });
      },
      pull() {
        req.resume();
      },
      cancel() {
        settled = true;
        req.resume();
      },
    },
    { highWaterMark: 256 * 1024, size: (chunk) => chunk.byteLength },
  );
}

/** After an early answer, drops the rest of the upload for a while, then cuts the connection. */
function linger(req: IncomingMessage): void {
  if (req.complete) return;
  req.resume();
  const timer = setTimeout(() => req.socket.destroy(), LINGER_MS);
  timer.unref();
  req.once("end", () => clearTimeout(timer));
}

/** Writes a web response to Node's, honouring backpressure and a client that goes away. */
async function send(response: Response, res: ServerResponse, req: IncomingMessage): Promise<void> {
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => (headers[name] = value));
  // No body: say so, or Node falls back to chunked encoding for an empty answer.
  if (!response.body && response.status !== 204 && response.status !== 304 && headers["content-length"] === undefined) {
    headers["content-length"] = "0";
  }
  res.writeHead(response.status, headers);
  const body = response.body;
  if (!body || req.method === "HEAD") {
    await body?.cancel();
    res.end();
    return;
  }
  const reader = body.getReader();
  let gone = false;
  let wake: (() => void) | undefined;
  const onClose = () => {
    gone = true;
    wake?.();
  };
  res.on("close", onClose);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (gone) break;
      if (!res.write(value)) {
        await new Promise<void>((resolve) => {
          wake = resolve;
          res.once("drain", resolve);
        });
        wake = undefined;
      }
      if (gone) break;
    }
    if (gone) await reader.cancel();
    else res.end();
  } catch (error) {
    res.destroy(error as Error);
    await reader.cancel().catch(() => {});
  } finally {
    res.off("close", onClose);
  }
}

/**
 * Serves a store over HTTP with `node:http` (SPEC 8); resolves once listening.
 * @example
 * const server = await serve(createStore("./data"), { port: 8787, token: process.env.TOKEN });
 * const remote = createStore(`anystore+${server.url}`, { token: process.env.TOKEN });
 * await server.close();
 */
export async function serve(store: Store, options: ServeOptions = {}): Promise<RunningServer> {
  const { host = "127.0.0.1", port = 0, idleTimeout = 120_000, ...handlerOptions } = options;
  const handler = createHandler(store, handlerOptions);
  const server = createServer({ requestTimeout: 0 }, (req, res) => {
    const target = req.url ?? "/";
    // URL parsing would resolve `/a/../b` and `/a\..\b` away: refuse them on the raw target.
    if (isUnsafePath(target.split("?", 1)[0]!)) {
      res.writeHead(400, { "content-type": "text/plain; charset=utf-8", "x-anystore-error": "INVALID_KEY", connection: "close" });
      res.end("InvalidKeyError: unsafe path\n");
      return;
    }
    const headers = new Headers();
    for (let i = 0; i < req.rawHeaders.length; i += 2) headers.append(req.rawHeaders[i]!, req.rawHeaders[i + 1]!);
    const aborted = new AbortController();
    res.once("finish", () => linger(req));
    res.on("close", () => {
      if (!res.writableFinished) aborted.abort();
    });
    const hasBody = req.method !== "GET" && req.method !== "HEAD" && req.method !== "OPTIONS";
    const request = new Request(new URL(target, base), {
      method: req.method ?? "GET",
      headers,
      signal: aborted.signal,
      ...(hasBody && { body: bodyOf(req), duplex: "half" }),
    } as RequestInit);
    handler(request)
      .then((response) => send(response, res, req))
      .catch((error: unknown) => res.destroy(error as Error));
  });
  if (idleTimeout > 0) server.setTimeout(idleTimeout);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const hostPart = address.family === "IPv6" ? `[${address.address}]` : address.address;
  const base = `http://${hostPart}:${address.port}`;
  return {
    url: base,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
