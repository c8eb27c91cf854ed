/**
 * Raw HTTP over `node:net` for tests of `serve`: bytes go out exactly as written (fetch and
 * node:http would normalize paths, methods and headers), and the answer is whatever comes back
 * before the server closes the socket.
 */

import { connect } from "node:net";

export interface RawReply {
  /** Everything the server sent. */
  text: string;
  /** The status of the first status line, if any came. */
  status: number | undefined;
  /** Milliseconds from connecting to the socket closing (or to giving up). */
  ms: number;
  /** False when we gave up waiting with the socket still open. */
  closed: boolean;
}

export interface RawOptions {
  /** Milliseconds between chunks (a trickler). @default 0 */
  gapMs?: number;
  /** Give up after this long, socket still open. @default 10000 */
  waitMs?: number;
  /** Milliseconds of quiet after a header block (an answer whose end we cannot tell) before it counts as whole. @default 1000 */
  quietMs?: number;
  /** Keep reading after a whole answer, until the server closes the socket (or `waitMs`). @default false */
  untilClose?: boolean;
}

/** A well-formed status line at the start of a reply. */
export const STATUS_LINE = /^HTTP\/1\.[01] [1-5]\d\d [^\r\n]*\r\n/;

/**
 * True once `text` holds one whole answer: headers, then the body its framing announces.
 * A socket is never half-closed to find the end: Node drops requests whose client does that.
 */
function complete(text: string, head: boolean): boolean {
  const at = text.indexOf("\r\n\r\n");
  if (at < 0) return false;
  const headers = text.slice(0, at).toLowerCase();
  const status = Number(headers.slice(9, 12));
  if (status < 200 && status !== 101) return complete(text.slice(at + 4), head);
  if (head || status === 204 || status === 304) return true;
  const body = text.slice(at + 4);
  const length = /\r\ncontent-length: *(\d+)/.exec(headers)?.[1];
  if (length !== undefined) return body.length >= Number(length);
  if (/\r\ntransfer-encoding: *chunked/.test(headers))
    return body.endsWith("0\r\n\r\n") && (body.startsWith("0\r\n") || body.includes("\r\n0\r\n")); // no trailers from serve
  return false;
}

/**
 * Sends `chunks` on a fresh connection and collects the reply: until one whole answer came,
 * the server closed the socket, or (for an answer without framing) it went quiet.
 */
export function exchange(
  port: number,
  chunks: string | Buffer | Array<string | Buffer>,
  o: RawOptions = {},
): Promise<RawReply> {
  const { gapMs = 0, waitMs = 10_000, quietMs = 1000, untilClose = false } = o;
  const parts = Array.isArray(chunks) ? chunks : [chunks];
  const head = String(parts[0] ?? "").startsWith("HEAD ");
  return new Promise((resolve) => {
    const started = Date.now();
    const received: Buffer[] = [];
    let done = false;
    let quiet: ReturnType<typeof setTimeout> | undefined;
    const text = () => Buffer.concat(received).toString("latin1");
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearTimeout(quiet);
      socket.destroy();
      const all = text();
      const status = STATUS_LINE.test(all) ? Number(all.slice(9, 12)) : undefined;
      resolve({ text: all, status, ms: Date.now() - started, closed });
    };
    const socket = connect(port, "127.0.0.1", async () => {
      for (const part of parts) {
        if (socket.destroyed) return;
        socket.write(part);
        if (gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
      }
    });
    socket.on("data", (chunk: Buffer) => {
      received.push(chunk);
      if (untilClose) return;
      const all = text();
      if (complete(all, head)) return finish(true);
      clearTimeout(quiet);
      if (all.includes("\r\n\r\n")) quiet = setTimeout(() => finish(true), quietMs);
    });
    // A reset after the answer is still an answer: keep what came.
    socket.on("error", () => finish(true));
    socket.on("close", () => finish(true));
    const timer = setTimeout(() => finish(false), waitMs);
  });
}

/** One request as raw bytes: `Host` first, a Content-Length for a body unless a framing header is given. */
export function rawRequest(method: string, target: string, headers: string[] = [], body = ""): string {
  const framed = headers.some((h) => /^(content-length|transfer-encoding):/i.test(h));
  const lines = [`${method} ${target} HTTP/1.1`, "Host: 127.0.0.1", ...headers];
  if (body && !framed) lines.push(`Content-Length: ${Buffer.byteLength(body, "latin1")}`);
  return `${lines.join("\r\n")}\r\n\r\n${body}`;
}
