/**
 * A thin `node:http` adapter for `createHandler`: requests and responses stream through
 * with backpressure, so no body is ever held whole. It survives any client: every request gets
 * an answer or a closed socket, never an exception, and slow or idle clients are cut by
 * deadlines. Node only.
 */

import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { Handler, HandlerOptions } from "../core/http/handler.js";
import { createHandler } from "../core/http/handler.js";
import { METHODS } from "../core/http/protocol.js";
import type { Store } from "../core/types.js";
import type { BodyPace } from "./node-bridge.js";
import { bodyOf, linger, refuse, send } from "./node-bridge.js";
import { originForm } from "./request-target.js";

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
   * Milliseconds a client may take to send a request's headers, counted from its first byte
   * (or from connecting, for a socket that says nothing); then 408 and the socket is closed.
   * @default 30000
   */
  headersTimeout?: number;
  /**
   * Milliseconds a client may take to send a whole request, body included; then 408 and the
   * socket is closed. A deadline on the total, so it must fit the largest upload on the slowest
   * link you serve (1 GiB in an hour needs 2.4 Mbit/s); `minBodyRate` cuts stalled bodies long
   * before. 0 turns it off.
   * @default 3600000
   */
  requestTimeout?: number;
  /**
   * The window (ms) over which `minBodyRate` is measured while the server reads a body: a body
   * that brings less than `minBodyRate * bodyTimeout / 1000` bytes in a window (nothing at all,
   * or a trickle) loses its connection. Time the server itself spends applying backpressure
   * (a slow store) does not count. 0 turns the check off.
   * @default 30000
   */
  bodyTimeout?: number;
  /**
   * The slowest request body accepted, in bytes per second, averaged over `bodyTimeout`.
   * @default 1024
   */
  minBodyRate?: number;
  /**
   * Milliseconds a client may leave a response unread (the socket's send buffer full); then the
   * socket is closed. A server busy on a long answer (a checksum of a large value) is not cut.
   * 0 never.
   * @default 60000
   */
  idleTimeout?: number;
  /**
   * Milliseconds an idle keep-alive connection stays open between requests.
   * @default 5000
   */
  keepAliveTimeout?: number;
  /**
   * How often (ms) connections are checked against `headersTimeout` and `requestTimeout`; a
   * deadline is enforced within this much of expiring.
   * @default 5000
   */
  connectionsCheckingInterval?: number;
  /**
   * The most connections open at once; more are closed as soon as they are accepted (the
   * client sees a reset), and the server keeps answering the others. `Infinity` for no cap.
   * @default 1000
   */
  maxConnections?: number;
}

/** A running server. */
export interface RunningServer {
  /** `http://host:port`, ready for `anystore+` in front. */
  url: string;
  /** Stops listening and closes every connection. */
  close(): Promise<void>;
}

interface Deadlines {
  pace: BodyPace;
  idleTimeout: number;
}

/** Reports an error without letting a throwing `onError` escape. */
function reporter(onError: HandlerOptions["onError"]): (error: unknown) => void {
  return (error) => {
    try {
      onError?.(error);
    } catch {
      // A logger that fails must not take the server down.
    }
  };
}

/** The last resort for a request whose handling threw: 500 if nothing was sent yet, else a cut. */
function crashed(res: ServerResponse, error: unknown, report: (error: unknown) => void): void {
  report(error);
  try {
    if (!res.headersSent && !res.destroyed) refuse(res, 500, "AnystoreError: internal server error");
    else res.destroy();
  } catch {
    res.destroy();
  }
}

/** One request through the handler: the request line is checked before any `URL` or `Request` is built. */
async function dispatch(
  req: IncomingMessage,
  res: ServerResponse,
  handler: Handler,
  base: string,
  limits: Deadlines,
): Promise<void> {
  const method = req.method ?? "GET";
  const target = originForm(method, req.url ?? "/");
  if (typeof target !== "string") {
    res.once("finish", () => linger(req));
    return refuse(res, target.status, target.text, target.headers);
  }
  if (limits.idleTimeout > 0) {
    // Only a client that leaves the answer unread is cut; a server still working on it is not.
    res.setTimeout(limits.idleTimeout, () => {
      if (res.writableNeedDrain) res.destroy();
    });
  }
  const aborted = new AbortController();
  const hasBody = method !== "GET" && method !== "HEAD" && method !== "OPTIONS";
  const upload = hasBody ? bodyOf(req, limits.pace) : undefined;
  res.once("finish", () => {
    // The answer is out: whatever of the body still comes is read and dropped.
    upload?.abandon();
    linger(req);
  });
  res.on("close", () => {
    if (!res.writableFinished) aborted.abort();
  });
  let request: Request;
  try {
    const headers = new Headers();
    for (let i = 0; i < req.rawHeaders.length; i += 2) headers.append(req.rawHeaders[i]!, req.rawHeaders[i + 1]!);
    request = new Request(base + target, {
      method,
      headers,
      signal: aborted.signal,
      ...(upload && { body: upload.body, duplex: "half" }),
    } as RequestInit);
  } catch {
    return refuse(res, 400, "malformed request");
  }
  await send(await handler(request), res, req);
}

/**
 * Serves a store over HTTP with `node:http` (SPEC 8); resolves once listening. Deadlines, the
 * connection cap and `maxBodyBytes` are on by default (see the options and README "Security").
 * @example
 * const server = await serve(createStore("./data"), { port: 8787, token: process.env.TOKEN });
 * const remote = createStore(`anystore+${server.url}`, { token: process.env.TOKEN });
 * await server.close();
 */
export async function serve(store: Store, options: ServeOptions = {}): Promise<RunningServer> {
  const {
    host = "127.0.0.1",
    port = 0,
    headersTimeout = 30_000,
    requestTimeout = 3_600_000,
    bodyTimeout = 30_000,
    minBodyRate = 1024,
    idleTimeout = 60_000,
    keepAliveTimeout = 5_000,
    connectionsCheckingInterval = 5_000,
    maxConnections = 1000,
    ...handlerOptions
  } = options;
  const handler = createHandler(store, handlerOptions);
  const report = reporter(handlerOptions.onError);
  const limits: Deadlines = {
    pace: { windowMs: bodyTimeout, minBytes: (minBodyRate * bodyTimeout) / 1000 },
    idleTimeout,
  };
  let base = "http://127.0.0.1";
  const server = createServer(
    // Node refuses a headersTimeout above a requestTimeout; with no request deadline, any header one goes.
    {
      headersTimeout: requestTimeout > 0 ? Math.min(headersTimeout, requestTimeout) : headersTimeout,
      requestTimeout,
      keepAliveTimeout,
      connectionsCheckingInterval,
    },
    (req, res) => {
      try {
        dispatch(req, res, handler, base, limits).catch((error: unknown) => crashed(res, error, report));
      } catch (error) {
        crashed(res, error, report);
      }
    },
  );
  if (Number.isFinite(maxConnections)) server.maxConnections = maxConnections;
  // CONNECT bypasses the request listener; without this Node just drops the socket.
  server.on("connect", (_req: IncomingMessage, socket: Socket) => {
    socket.on("error", () => {});
    socket.end(
      `HTTP/1.1 405 Method Not Allowed\r\nAllow: ${METHODS.join(", ")}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  // After listening, errors come from accept() (EMFILE when out of descriptors): report them,
  // never let an unhandled 'error' event end the process.
  server.on("error", report);
  const address = server.address() as AddressInfo;
  const hostPart = address.family === "IPv6" ? `[${address.address}]` : address.address;
  base = `http://${hostPart}:${address.port}`;
  return {
    url: base,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
