/**
 * `fetch` for the http driver in Node. undici's fetch keeps every chunk of a `ReadableStream`
 * request body until the response completes (nodejs/undici#4058), so a streamed 256 MiB upload
 * would hold 256 MiB. Requests with a stream body go through node:http(s) instead, chunk by
 * chunk with backpressure; every other request goes to the global fetch.
 */
import type { ClientRequest, IncomingMessage } from "node:http";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { Readable } from "node:stream";
import { drained } from "../../runtime/node/drained.js";

/** A drop-in `fetch`: stream bodies take node:http(s), the rest the global fetch. */
export const streamingFetch = ((input: string | URL | Request, init?: RequestInit) => {
  const body = init?.body;
  if (!(body instanceof ReadableStream) || input instanceof Request) return fetch(input, init);
  return streamedRequest(new URL(String(input)), init!, body as ReadableStream<Uint8Array>);
}) as typeof fetch;

function streamedRequest(url: URL, init: RequestInit, body: ReadableStream<Uint8Array>): Promise<Response> {
  const signal = init.signal ?? undefined;
  return new Promise<Response>((resolve, reject) => {
    // As fetch does: the signal's reason on abort, a TypeError for network failures.
    const fail = (error: unknown) =>
      reject(signal?.aborted ? signal.reason : new TypeError("fetch failed", { cause: error }));
    if (signal?.aborted) return fail(signal.reason);
    const send = url.protocol === "https:" ? httpsRequest : httpRequest;
    const headers: Record<string, string> = {};
    new Headers(init.headers).forEach((value, name) => {
      headers[name] = value;
    });
    const req = send(url, { method: init.method ?? "POST", headers, ...(signal && { signal }) });
    const reader = body.getReader();
    req.once("response", (res) => resolve(toResponse(res, init.method)));
    req.once("error", (error) => {
      reader.cancel(error).catch(() => {});
      fail(error);
    });
    pump(req, reader).catch((error) => req.destroy(error));
  });
}

/** Writes the body's chunks as the socket takes them. */
async function pump(req: ClientRequest, reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
  for (;;) {
    const { done, value } = await reader.read();
    if (req.destroyed) return void reader.cancel().catch(() => {});
    if (done) return void req.end();
    if (!req.write(value)) await drained(req);
  }
}

const NULL_BODY = new Set([101, 103, 204, 205, 304]);

function toResponse(res: IncomingMessage, method = "GET"): Response {
  const headers = new Headers();
  for (const [name, value] of Object.entries(res.headers)) {
    if (Array.isArray(value)) for (const v of value) headers.append(name, v);
    else if (value !== undefined) headers.set(name, value);
  }
  const empty = NULL_BODY.has(res.statusCode ?? 0) || method.toUpperCase() === "HEAD";
  if (empty) res.resume();
  const stream = empty ? null : (Readable.toWeb(res) as unknown as ReadableStream<Uint8Array>);
  return new Response(stream, { status: res.statusCode ?? 500, statusText: res.statusMessage ?? "", headers });
}
