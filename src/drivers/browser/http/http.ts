import type { ByteRange, Driver, DriverInfo, WriteOptions } from "../../../core/driver/contract.js";
import type { NeverExpiringDriver } from "../../../core/driver/hot-path.js";
import { UnsupportedError } from "../../../core/errors.js";
import { encodeKey, errorFromResponse, H, infoFromHeaders, rangeHeader } from "../../../core/http/protocol.js";
import { bytesToStream } from "../../../core/streams/from-bytes.js";
import { sliceStream } from "../../../core/streams/slice-stream.js";
import { concat } from "../../../core/streams/to-bytes.js";
import { blobGatherer } from "../blob-gatherer.js";
import type { CrawlLimits } from "./crawl.js";
import { bodyFeed, countBytes, drainSmall, putBlob, requester, shortText, Watchdog } from "./transport.js";
import { parseUrl } from "./url.js";

export { HttpError } from "../../../core/http/protocol.js";

export const DRIVER_NAME = "http";

/** Bodies above this go out in parts of this size, through the streamed upload paths. */
const LARGE = 1 << 20;

/** Upload progress of one streamed write. */
export interface UploadProgress {
  key: string;
  /** Bytes sent so far (in browsers: handed to the network stack). */
  loaded: number;
  /** Total bytes, once known. */
  total?: number;
}

/** With plain `http(s)://`, `keys()` crawls the server's index pages (SPEC 15) within these limits. */
export interface HttpDriverOptions extends CrawlLimits {
  /**
   * `anystore+http(s)://host[/prefix]` for an anystore server (SPEC 8: read, write, list), or
   * `http(s)://base` for read-only GET/HEAD of `base/key` on any web server.
   */
  url: string;
  /**
   * A bearer token sent as `Authorization: Bearer TOKEN`.
   * @default undefined
   */
  token?: string;
  /**
   * Extra request headers.
   * @default {}
   */
  headers?: Record<string, string>;
  /**
   * Milliseconds the server may stay silent before a request fails with `ConnectionError`.
   * Progress (the response, each body chunk, each uploaded chunk) restarts the clock, so a long
   * transfer that moves is never cut. After half of it in silence the client asks the server
   * whether it is alive (`HEAD` of the base url on another connection, or anything else heard from it lately);
   * while it answers, a slow answer (a checksum of a large value, storing a large upload) is
   * waited for. A frozen or unreachable server fails within this time.
   * @default 5000
   */
  timeout?: number;
  /**
   * Stream request bodies (`duplex: "half"`). Node can; Chromium only over HTTP/2, so by
   * default browsers collect a streamed write into a Blob (paged to disk by the browser for
   * large values) and send that.
   * @default true in Node, false elsewhere
   */
  streamUploads?: boolean;
  /**
   * Called as an upload goes out: `open(key, "w")`, `put` of a stream, a Blob or more than
   * 1 MiB. In browsers it comes from XMLHttpRequest's upload events (real network progress);
   * in Node, as each chunk is taken by the request body. The last call has `total`.
   * @default undefined
   */
  onUploadProgress?: (progress: UploadProgress) => void;
  /**
   * The `fetch` to use (a custom agent, a test double, a worker binding). Stores made by
   * `createStore` in Node get one that sends streamed uploads through node:http, because
   * undici's fetch keeps a streamed request body in memory until the response (nodejs/undici#4058).
   * @default globalThis.fetch
   */
  fetch?: typeof fetch;
}

/**
 * Reads (and, against an anystore server, writes and lists) values over HTTP. With
 * `anystore+http(s)://` it speaks the anystore protocol (SPEC 8) to `anystore serve`,
 * `createHandler` or Python anystore's API; with plain `http(s)://` it is a read-only view of
 * any web server, `base/key` per key. Keys are percent-encoded per segment.
 * @example
 * const store = createStore({ driver: httpDriver({ url: "anystore+https://data.example", token }) });
 * const docs = createStore("https://example.org/static"); // read-only
 */
export function httpDriver(opts: HttpDriverOptions): Driver {
  const { basePath, origin, prefix, protocol } = parseUrl(opts.url);
  const timeout = opts.timeout ?? 5_000;
  const common: Record<string, string> = {
    ...opts.headers,
    ...(opts.token && { authorization: `Bearer ${opts.token}` }),
  };
  const request = requester(origin, { fetch: opts.fetch, timeout, headers: common, basePath });
  const base = origin + basePath;
  const streamUploads =
    opts.streamUploads ??
    typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node === "string";
  const url = (key: string) => `${basePath}/${encodeKey(key)}`;
  const details = (key: string | undefined) => ({ key, store: opts.url });

  /** Throws the error a non-2xx response stands for; reads at most a line of its body, then stops the request's watchdog. */
  async function fail(res: Response, key?: string, watchdog?: Watchdog): Promise<never> {
    try {
      const body = await shortText(res);
      throw errorFromResponse(res.status, res.headers, body, details(key));
    } finally {
      watchdog?.stop();
    }
  }

  const readOnly = (what: string) => async (): Promise<never> => {
    throw new UnsupportedError(
      `${what} needs an anystore server: ${opts.url} is a plain web server (read-only); use anystore+${opts.url}`,
    );
  };

  async function get(key: string): Promise<Uint8Array | null> {
    const { res, watchdog } = await request(url(key));
    if (res.status === 404) return discard(res, watchdog);
    if (!res.ok) return fail(res, key, watchdog);
    if (!res.body) return new Uint8Array(0);
    if (Number(res.headers.get("content-length") ?? Infinity) <= 1 << 20) {
      // Small: one read, under the timeout armed when the headers came.
      try {
        return new Uint8Array(await res.arrayBuffer());
      } catch (error) {
        throw watchdog.explain(error, base);
      } finally {
        watchdog.stop();
      }
    }
    const chunks: Uint8Array[] = [];
    for await (const chunk of watchdog.watch(res.body, base) as unknown as AsyncIterable<Uint8Array>)
      chunks.push(chunk);
    return concat(chunks);
  }

  async function info(key: string): Promise<DriverInfo | null> {
    let { res, watchdog } = await request(url(key), { method: "HEAD" });
    // Some plain servers refuse HEAD or send no length: ask for the first byte instead.
    if (res.status === 405 || res.status === 501 || (res.ok && !knowsSize(res.headers))) {
      await discard(res, watchdog);
      ({ res, watchdog } = await request(url(key), {}, { range: "bytes=0-0" }));
    }
    if (res.status === 404) return discard(res, watchdog);
    if (!res.ok) return fail(res, key, watchdog);
    const found = infoFromHeaders(res.headers);
    const total = /\/(\d+)$/.exec(res.headers.get("content-range") ?? "")?.[1];
    if (total !== undefined && !res.headers.has(H.size)) found.size = Number(total);
    else if (!knowsSize(res.headers) && res.body) found.size = await countBytes(watchdog.watch(res.body, base));
    await discard(res, watchdog);
    return found;
  }

  async function read(key: string, range?: ByteRange): Promise<ReadableStream<Uint8Array> | null> {
    if (range && range.end !== undefined && range.end <= (range.start ?? 0)) {
      return (await info(key)) === null ? null : bytesToStream(new Uint8Array(0));
    }
    const { res, watchdog } = await request(url(key), {}, { range: rangeHeader(range) });
    if (res.status === 404) return discard(res, watchdog);
    // Past the end: the value exists, the slice is empty (as Blob.slice).
    if (res.status === 416) return discard(res, watchdog).then(() => bytesToStream(new Uint8Array(0)));
    if (!res.ok) return fail(res, key, watchdog);
    const body = res.body ? watchdog.watch(res.body, base) : bytesToStream(new Uint8Array(0));
    // A server that ignores Range answers 200 with everything: cut the range out here.
    return range && res.status === 200 && rangeHeader(range) ? sliceStream(body, range) : body;
  }

  if (!protocol) {
    const plain: NeverExpiringDriver = {
      name: DRIVER_NAME,
      capabilities: { write: false, list: true, ttl: false, streams: true, ranges: true },
      // A read-only web server keeps no expiry, and none can be written: no TTL emulation, whose
      // sidecar lookup would cost a request per read.
      neverExpires: true,
      get,
      info,
      read,
      has: async (key) => (await info(key)) !== null,
      put: readOnly("writing"),
      delete: readOnly("deleting"),
      write: readOnly("writing"),
      // Crawls index pages (SPEC 15); loaded only when listing.
      async *list(listPrefix) {
        const { crawlKeys } = await import("./crawl.js");
        for await (const page of crawlKeys(`${base}/`, {
          ...opts,
          headers: common,
          prefix: listPrefix,
          store: opts.url,
        }))
          yield page;
      },
    };
    return plain;
  }

  const writeHeaders = (o: WriteOptions, type?: string) => ({
    [H.ttl]: o.ttl ? String(o.ttl) : undefined,
    "if-none-match": o.ifNotExists ? "*" : undefined,
    "content-type": o.contentType ?? type,
  });

  async function put(key: string, value: Uint8Array, o: WriteOptions): Promise<void> {
    // A large body goes through the streamed paths, whose progress keeps the idle timeout honest.
    if (value.byteLength > LARGE) {
      const writer = (streamUploads ? streamedWrite(key, o) : blobWrite(key, o)).getWriter();
      for (let at = 0; at < value.byteLength; at += LARGE) await writer.write(value.subarray(at, at + LARGE));
      return writer.close();
    }
    const { res, watchdog } = await request(
      url(key),
      { method: "PUT", body: value as BodyInit, signal: o.signal ?? null },
      writeHeaders(o),
    );
    watchdog.stop();
    if (!res.ok) return fail(res, key, watchdog);
    await drainSmall(res);
  }

  /** Node: the writable feeds the request body as it is written, with backpressure; each chunk counts as progress. */
  function streamedWrite(key: string, o: WriteOptions): WritableStream<Uint8Array> {
    const watchdog = new Watchdog(timeout, o.signal, request.liveness);
    const feed = bodyFeed();
    const response = request(url(key), { method: "PUT", body: feed.body, duplex: "half" }, writeHeaders(o), watchdog);
    // An early error response (403, 412, 413) must fail a write that waits on backpressure.
    const done = response.then(async ({ res }) => {
      watchdog.stop();
      if (!res.ok) await fail(res, key);
      await drainSmall(res);
    });
    done.catch(() => {});
    let loaded = 0;
    const step = async (p: Promise<void>) => {
      try {
        await Promise.race([p, done.then(() => p)]);
      } catch (error) {
        await done; // the server's answer says more than a broken pipe
        throw error;
      }
    };
    return new WritableStream<Uint8Array>({
      async write(chunk) {
        await step(feed.push(chunk));
        watchdog.poke();
        loaded += chunk.byteLength;
        opts.onUploadProgress?.({ key, loaded });
      },
      async close() {
        feed.end();
        await done;
        opts.onUploadProgress?.({ key, loaded, total: loaded });
      },
      abort(reason) {
        feed.error(reason);
        watchdog.abort(reason);
      },
    });
  }

  /**
   * Browsers: gather into a Blob (the browser pages large ones to disk), then send it in one
   * request; with XMLHttpRequest (windows, dedicated workers) for progress, else fetch.
   */
  function blobWrite(key: string, o: WriteOptions): WritableStream<Uint8Array> {
    const gather = blobGatherer();
    return new WritableStream<Uint8Array>({
      write: (chunk) => gather.add(chunk),
      async close() {
        const blob = gather.done(o.contentType);
        if (typeof XMLHttpRequest === "undefined") {
          const { res, watchdog } = await request(
            url(key),
            { method: "PUT", body: blob, signal: o.signal ?? null },
            writeHeaders(o),
          );
          watchdog.stop();
          if (!res.ok) return fail(res, key);
          await drainSmall(res);
          opts.onUploadProgress?.({ key, loaded: blob.size, total: blob.size });
          return;
        }
        const headers = { ...common };
        for (const [name, value] of Object.entries(writeHeaders(o))) if (value !== undefined) headers[name] = value;
        await putBlob(`${origin}${url(key)}`, blob, headers, {
          key,
          onProgress: opts.onUploadProgress,
          timeout,
          liveness: request.liveness,
          signal: o.signal,
          fail: (status, h, body) => errorFromResponse(status, h, body, details(key)),
        });
      },
      abort: () => gather.clear(),
    });
  }

  return {
    name: DRIVER_NAME,
    capabilities: {
      write: true,
      list: true,
      ttl: true,
      ifNotExists: true,
      streams: true,
      ranges: true,
      createdAt: true,
      // Server-sent events from an anystore server; a server without them is polled (see watch.ts).
      watch: true,
    },
    get,
    info,
    read,
    put,
    has: async (key) => (await info(key)) !== null,
    async delete(key) {
      const { res, watchdog } = await request(url(key), { method: "DELETE" });
      watchdog.stop();
      if (res.status === 404) return void (await drainSmall(res));
      if (!res.ok) return fail(res, key);
      await drainSmall(res);
    },
    async write(key, o) {
      return streamUploads ? streamedWrite(key, o) : blobWrite(key, o);
    },
    // The server hashes next to the bytes: one HEAD instead of downloading the value.
    async checksum(key, algorithm) {
      const { res, watchdog } = await request(`${url(key)}?checksum=true&algorithm=${algorithm}`, { method: "HEAD" });
      await discard(res, watchdog);
      if (res.status === 404) return null;
      if (!res.ok) return fail(res, key);
      const sum = res.headers.get(H.checksum);
      if (!sum) throw new UnsupportedError(`${opts.url} sent no ${H.checksum} header`, details(key));
      return sum;
    },
    // `GET /{prefix}/` (SPEC 8): only that prefix's keys travel. Loaded with the first listing.
    async *list(listPrefix) {
      const { listKeys } = await import("./listing.js");
      yield* listKeys({ request, prefix, base, fail }, listPrefix);
    },
    // Server-sent events; loaded on the first watch.
    async watch(at, emit, signal) {
      const w = { origin, prefix, fetch: opts.fetch, headers: common, timeout, fail };
      return (await import("./watch.js")).watchServer(w, at, emit, signal);
    },
    async close() {},
  };
}

const knowsSize = (headers: Headers) =>
  headers.has(H.size) || headers.has("content-length") || headers.has("content-range");

async function discard(res: Response, watchdog: Watchdog): Promise<null> {
  watchdog.stop();
  await drainSmall(res);
  return null;
}

/** The factory for `http(s)://`, `anystore+http(s)://` uris; the store's options (`token`, `timeout`, ...) apply. */
export function httpDriverFromUri(uri: string, options: Record<string, unknown> = {}): Driver {
  return httpDriver({ ...(options as Partial<HttpDriverOptions>), url: uri });
}
