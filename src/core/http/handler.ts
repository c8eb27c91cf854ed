/**
 * The server half of the anystore HTTP protocol (SPEC 8): a web-standard
 * `(Request) => Promise<Response>` over any store, for Node (see `serve`), workers and edge
 * runtimes. Bodies stream both ways; nothing holds a whole value. Web APIs only.
 */

import { InvalidArgumentError } from "../errors.js";
import { isHashAlgorithm } from "../hashing.js";
import { normalizeKey, normalizePrefix, RESERVED, reservedArea } from "../keys.js";
import type { Info, Store } from "../types.js";
import { URI_SCHEME } from "../uri.js";
import { EXPOSED_HEADERS, H, METHODS, parseRange, weakEtag } from "./protocol.js";
import { publicError } from "./public-error.js";
import { keyOf, Refusal, watchBody } from "./request.js";

export interface HandlerOptions {
  /**
   * A bearer token every request must carry (`Authorization: Bearer TOKEN`), compared in
   * constant time. Preflight `OPTIONS` requests need none.
   * @default undefined (no authentication)
   */
  token?: string;
  /**
   * Refuse every write (PUT, DELETE, PATCH) with 403, whatever the store allows.
   * @default false
   */
  readonly?: boolean;
  /**
   * Origins allowed to call from a browser: `"https://app.example"`, a list, `"*"` for any,
   * or a function deciding per origin. Other origins get no CORS headers, and their
   * preflights a 403.
   * @default undefined (no CORS)
   */
  cors?: string | string[] | ((origin: string) => boolean);
  /**
   * The largest request body accepted, in bytes; larger ones get 413 without being buffered,
   * and the stored value stays as it was. `Infinity` accepts any size.
   * @default 1073741824 (1 GiB)
   */
  maxBodyBytes?: number;
  /**
   * Called with every error answered with a 5xx, with its full message and cause, for the
   * server's log: the response itself says only what went wrong in general and for which key,
   * never a server path or a backend's address. `serve` also reports here what failed outside
   * the handler (a throwing `cors` function, a refused header) and accept errors (EMFILE).
   * @default undefined
   */
  onError?: (error: unknown) => void;
}

/** The default `maxBodyBytes`: 1 GiB. */
export const DEFAULT_MAX_BODY_BYTES = 2 ** 30;

/** A web-standard request handler. */
export type Handler = (req: Request) => Promise<Response>;

const ALLOW = METHODS.join(", ");
const SYNC_AREA = `${RESERVED}/sync/`;
const ALLOWED_HEADERS = `authorization, content-type, range, if-none-match, if-match, ${H.ttl}`;
const encoder = new TextEncoder();
/** Reads and writes of the stored bytes, past any `compression` of the store. */
const RAW = { compression: false } as const;

/** Compares a string with a secret's digest in time that never depends on where they differ. */
async function sameSecret(given: string, expected: Promise<ArrayBuffer>): Promise<boolean> {
  const x = new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(given)));
  const y = new Uint8Array(await expected);
  let diff = 0;
  for (let i = 0; i < x.length; i++) diff |= x[i]! ^ y[i]!;
  return diff === 0;
}

/** A store uri without credentials (`postgresql://user:pw@host/db`) or a local path, for headers. */
function publicUri(uri: string): string {
  const scheme = URI_SCHEME.exec(uri)?.[0];
  const rest = scheme ? uri.slice(scheme.length) : uri;
  // A local path (`/srv/data`, `sqlite:///srv/app.db`) tells where the server keeps its files: only its last name goes out.
  if (!scheme || rest.startsWith("/") || /^[A-Za-z]:[\\/]/.test(rest))
    return `${scheme ?? ""}${rest.split(/[\\/]/).filter(Boolean).pop() ?? ""}`;
  return `${scheme}${rest.replace(/^[^/@]*@/, "")}`;
}

function infoHeaders(info: Info, storeUri: string): Headers {
  const time = info.updatedAt ?? info.createdAt;
  const headers = new Headers({
    "content-type": info.contentType,
    "content-length": String(info.size),
    "accept-ranges": "bytes",
    etag:
      info.etag === undefined ? weakEtag(info.size, time) : /^(W\/)?"/.test(info.etag) ? info.etag : `"${info.etag}"`,
    [H.key]: encodeURI(info.key),
    [H.name]: encodeURI(info.name),
    [H.size]: String(info.size),
    [H.store]: encodeURI(storeUri),
    [H.mimetype]: info.contentType,
  });
  if (time) headers.set("last-modified", time.toUTCString());
  if (info.createdAt) headers.set(H.createdAt, info.createdAt.toISOString());
  if (info.updatedAt) headers.set(H.updatedAt, info.updatedAt.toISOString());
  return headers;
}

/** A stream of `key\n` lines; the first key is read before the response starts, so list errors still get a status. */
async function listing(keys: AsyncIterableIterator<string>): Promise<ReadableStream<Uint8Array>> {
  const first = await keys.next();
  let pending: IteratorResult<string> | undefined = first;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      // Batch lines into chunks of ~16 KiB: one chunk per key would cost a write per key.
      let text = "";
      while (text.length < 16_384) {
        const next = pending ?? (await keys.next());
        pending = undefined;
        if (next.done) break;
        text += `${next.value}\n`;
      }
      if (text) controller.enqueue(encoder.encode(text));
      else controller.close();
    },
    async cancel() {
      await keys.return?.(undefined);
    },
  });
}

/**
 * Serves a store over the anystore HTTP protocol (SPEC 8), compatible with Python anystore's
 * REST app: `GET /key` (ranges, ETag), `GET /` and `GET /prefix/` list keys, `HEAD /key`
 * (`?checksum=true&algorithm=`), `PUT /key` (streamed; `x-anystore-ttl`; `If-None-Match: *`),
 * `DELETE /key`, `PATCH /key` (touch). Keys under `.anystore/sync/` reach the store's reserved
 * area where `sync` keeps its bases (never listed); every other reserved key is refused.
 * @example
 * const handler = createHandler(createStore("memory://"), { token: "s3cret", cors: "https://app.example" });
 * export default { fetch: handler }; // a worker, Deno.serve(handler), Bun.serve({ fetch: handler })
 */
export function createHandler(store: Store, options: HandlerOptions = {}): Handler {
  const { token, readonly = false, maxBodyBytes = DEFAULT_MAX_BODY_BYTES, onError } = options;
  const { cors } = options;
  const origins = new Set(typeof cors === "string" ? [cors] : Array.isArray(cors) ? cors : []);
  const allowed = (origin: string) =>
    typeof cors === "function" ? cors(origin) : origins.has(origin) || origins.has("*");
  const storeUri = publicUri(store.uri);
  const report = (error: unknown) => {
    try {
      onError?.(error);
    } catch {
      // A failing logger must not change the answer.
    }
  };
  let tokenDigest: Promise<ArrayBuffer> | undefined;

  const corsHeaders = (req: Request): Record<string, string> | undefined => {
    const origin = req.headers.get("origin");
    if (!origin || !allowed(origin)) return undefined;
    return { "access-control-allow-origin": origin, "access-control-expose-headers": EXPOSED_HEADERS, vary: "Origin" };
  };

  const writable = () => {
    if (readonly) throw new Refusal(403, "ReadOnlyError: this server is readonly", { [H.error]: "READ_ONLY" });
  };

  async function route(req: Request, url: URL): Promise<Response> {
    const method = req.method.toUpperCase();
    if (method === "OPTIONS") return preflight(req);
    if (token !== undefined) {
      const auth = req.headers.get("authorization") ?? "";
      const given = /^Bearer\s+(.+)$/i.exec(auth)?.[1]?.trim() ?? "";
      tokenDigest ??= crypto.subtle.digest("SHA-256", encoder.encode(token));
      if (!(await sameSecret(given, tokenDigest))) {
        throw new Refusal(401, "unauthorized: a bearer token is required", {
          "www-authenticate": 'Bearer realm="anystore"',
        });
      }
    }
    const path = keyOf(url.pathname);
    const isListing = url.pathname.endsWith("/");
    if (isListing) {
      if (method !== "GET" && method !== "HEAD")
        throw new Refusal(405, `${method} needs a key, not a folder`, { allow: "GET, HEAD" });
      if (method === "GET" && url.searchParams.get("watch") === "true") return watchEvents(req, url, path);
      return list(url, path, method === "HEAD");
    }
    const [target, key] = targetOf(path);
    switch (method) {
      case "GET":
      case "HEAD":
        return read(target, req, url, key, method === "HEAD");
      case "PUT":
        writable();
        return write(target, req, key);
      case "DELETE":
        writable();
        if (!(await target.exists(key)))
          throw new Refusal(404, `NotFoundError: key does not exist: ${key}`, { [H.error]: "NOT_FOUND" });
        await target.delete(key);
        return new Response(null, { status: 204 });
      case "PATCH": {
        writable();
        const date = await target.touch(key);
        return textResponse(date.toISOString(), 200);
      }
      default:
        throw new Refusal(405, `method ${method} is not allowed`, { allow: ALLOW });
    }
  }

  /**
   * The store and key a path names. `[prefix/].anystore/sync/key` reaches the reserved area where
   * `sync` keeps its bases (SPEC 12), so a remote store can be sync's first side; every other
   * reserved key is refused by `normalizeKey`. The area is never listed.
   */
  function targetOf(path: string): [Store, string] {
    const start = path.startsWith(SYNC_AREA) ? 0 : path.indexOf(`/${SYNC_AREA}`);
    const area = start < 0 ? undefined : reservedArea(start === 0 ? store : store.child(path.slice(0, start)), "sync");
    if (!area) return [store, normalizeKey(path)];
    return [area, normalizeKey(path.slice(start === 0 ? SYNC_AREA.length : start + 1 + SYNC_AREA.length))];
  }

  function preflight(req: Request): Response {
    if (!req.headers.get("origin")) return new Response(null, { status: 204, headers: { allow: ALLOW } });
    const cors = corsHeaders(req);
    if (!cors) throw new Refusal(403, "origin not allowed");
    return new Response(null, {
      status: 204,
      headers: {
        ...cors,
        "access-control-allow-methods": ALLOW,
        "access-control-allow-headers": ALLOWED_HEADERS,
        "access-control-max-age": "600",
      },
    });
  }

  async function list(url: URL, path: string, head: boolean): Promise<Response> {
    const params = url.searchParams;
    const base = path === "" ? store : store.child(path);
    const opts = {
      // `GET /?prefix=` is how older clients list (ours, and older Python apps answered it): its keys
      // stay relative to the store, as they were. Clients now ask `GET /{prefix}/`.
      ...(params.has("prefix") && { prefix: params.get("prefix")! }),
      ...(params.has("exclude_prefix") && { excludePrefix: params.get("exclude_prefix")! }),
      ...(params.has("glob") && { glob: params.get("glob")! }),
    };
    const body = head ? null : await listing(base.keys(opts));
    return new Response(body, { status: 200, headers: { "content-type": "text/plain; charset=utf-8" } });
  }

  /** `GET /{prefix}/?watch=true` or `GET /?watch=true&prefix=p`: the same events, keys relative to that prefix. */
  async function watchEvents(req: Request, url: URL, path: string): Promise<Response> {
    const params = url.searchParams;
    const prefix = [path, normalizePrefix(params.get("prefix") ?? "")].filter((p) => p !== "").join("/");
    const { eventStream } = await import("./events.js");
    const glob = params.get("glob");
    return eventStream(prefix === "" ? store : store.child(prefix), glob === null ? {} : { glob }, req.signal);
  }

  async function read(store: Store, req: Request, url: URL, key: string, head: boolean): Promise<Response> {
    const info = await store.info(key);
    const headers = infoHeaders(info, storeUri);
    if (head) {
      if (url.searchParams.get("checksum") === "true") {
        const algorithm = url.searchParams.get("algorithm") ?? "sha256"; // Python anystore 1.x's default
        if (!isHashAlgorithm(algorithm))
          throw new InvalidArgumentError(`unknown checksum algorithm ${JSON.stringify(algorithm)}`);
        headers.set(H.checksum, await store.checksum(key, algorithm));
      }
      return new Response(null, { status: 200, headers });
    }
    const match = req.headers.get("if-none-match");
    // If-None-Match compares weakly: W/"x" matches "x".
    const opaque = (tag: string) => tag.trim().replace(/^W\//, "");
    const etag = opaque(headers.get("etag")!);
    if (match?.split(",").some((tag) => opaque(tag) === etag || tag.trim() === "*")) {
      headers.delete("content-length");
      return new Response(null, { status: 304, headers });
    }
    const rangeText = req.headers.get("range");
    // The stored bytes as they are (`compression: false`), whatever the store's option: sizes, ranges
    // and checksums in the headers are the stored bytes', and a client decompresses with its own.
    if (rangeText === null) return new Response(await store.open(key, "r", RAW), { status: 200, headers });
    const range = parseRange(rangeText, info.size);
    if (range === "invalid") {
      throw new Refusal(400, `InvalidArgumentError: invalid range ${JSON.stringify(rangeText.slice(0, 100))}`, {
        [H.error]: "INVALID_ARGUMENT",
      });
    }
    if (range === "unsatisfiable")
      throw new Refusal(416, "range not satisfiable", { "content-range": `bytes */${info.size}` });
    headers.set("content-range", `bytes ${range.start}-${range.end - 1}/${info.size}`);
    headers.set("content-length", String(range.end - range.start));
    return new Response(await store.open(key, "r", { ...range, ...RAW }), { status: 206, headers });
  }

  async function write(store: Store, req: Request, key: string): Promise<Response> {
    const length = req.headers.get("content-length");
    if (length !== null && Number(length) > maxBodyBytes)
      throw new Refusal(413, `request body over ${maxBodyBytes} bytes`);
    const ttlText = req.headers.get(H.ttl);
    const ttl = ttlText === null || ttlText === "" ? undefined : Number(ttlText);
    if (ttl !== undefined && !(Number.isFinite(ttl) && ttl >= 0))
      throw new InvalidArgumentError(`invalid ${H.ttl}: ${ttlText}`);
    const contentType = req.headers.get("content-type")?.split(";")[0]?.trim();
    const watch = watchBody(req.body ?? new Blob([]).stream(), maxBodyBytes);
    try {
      await store.put(key, watch.body, {
        ...(ttl !== undefined && { ttl }),
        ...(req.headers.get("if-none-match")?.trim() === "*" && { ifNotExists: true }),
        ...(contentType && { contentType }),
        ...RAW,
      });
    } catch (error) {
      if (watch.tooLarge) throw new Refusal(413, `request body over ${maxBodyBytes} bytes`);
      if (watch.broken) throw new Refusal(400, "the request body broke off before its end");
      throw error;
    }
    return new Response(null, { status: 201 });
  }

  return async function handler(req: Request): Promise<Response> {
    let response: Response;
    try {
      response = await route(req, new URL(req.url));
    } catch (error) {
      response = failure(error);
      if (response.status >= 500) report(error);
    }
    const cors = req.method.toUpperCase() === "OPTIONS" ? undefined : corsHeaders(req);
    if (cors) for (const [name, value] of Object.entries(cors)) response.headers.set(name, value);
    return response;
  };
}

/** One line of text and a status; the code travels in `x-anystore-error`. */
function failure(error: unknown): Response {
  if (error instanceof Refusal) return textResponse(`${error.message}\n`, error.status, error.headers);
  const { status, line, code } = publicError(error);
  return textResponse(`${line}\n`, status, code ? { [H.error]: code } : {});
}

/** A short text answer with its length declared, so the connection stays reusable. */
function textResponse(text: string, status: number, headers: Record<string, string> = {}): Response {
  const body = encoder.encode(text);
  return new Response(body, {
    status,
    headers: { "content-type": "text/plain; charset=utf-8", "content-length": String(body.byteLength), ...headers },
  });
}
