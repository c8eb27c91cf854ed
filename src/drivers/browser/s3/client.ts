/**
 * A tiny S3 client: addressing, SigV4 signing (aws4fetch, WebCrypto) and `fetch` with a
 * bounded wait, a few retries and typed errors. Web APIs only, so it also runs in browsers
 * and workers.
 */
import { AwsV4Signer } from "aws4fetch";
import { AnystoreError, ConnectionError } from "../../../core/errors.js";
import { text } from "./xml.js";

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string | undefined;
}

export interface S3ClientConfig {
  bucket: string;
  /** Scheme, host, port and optional base path, without a trailing slash. */
  endpoint: string;
  region: string;
  pathStyle: boolean;
  /** Absent: requests go unsigned (public buckets). */
  credentials?: S3Credentials | undefined;
  /** Milliseconds to wait for response headers. */
  timeout: number;
  /** Extra attempts after a 5xx or 429 for requests whose body can be sent again. */
  retries: number;
}

export interface RequestOptions {
  headers?: Record<string, string>;
  body?: Uint8Array;
  signal?: AbortSignal | undefined;
  /** The key, for error messages. */
  key?: string;
}

/** What an S3 error response said; the `cause` of the AnystoreError thrown for it. */
export class S3ResponseError extends Error {
  override name = "S3ResponseError";
  constructor(
    message: string,
    readonly status: number,
    readonly s3Code: string | undefined,
    readonly requestId: string | undefined,
  ) {
    super(message);
  }
}

/** An AnystoreError (code IO) that also says which HTTP status the backend answered. */
export type S3Failure = AnystoreError & { status?: number; s3Code?: string };

/** RFC 3986 percent-encoding of one path segment or query value (keeps nothing but unreserved characters). */
export function encodeRfc3986(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** A key as an URL path: each segment encoded, `/` kept (S3's canonical URI). */
export function encodeKey(key: string): string {
  return key.split("/").map(encodeRfc3986).join("/");
}

const RETRY_STATUS = new Set([429, 500, 502, 503, 504]);

export class S3Client {
  readonly config: S3ClientConfig;
  readonly #base: string;
  readonly #host: string;
  readonly #cache = new Map<string, ArrayBuffer>();

  constructor(config: S3ClientConfig) {
    this.config = config;
    const url = new URL(config.endpoint);
    this.#host = url.host;
    const path = url.pathname.replace(/\/+$/, "");
    this.#base = config.pathStyle
      ? `${url.protocol}//${url.host}${path}/${encodeRfc3986(config.bucket)}`
      : `${url.protocol}//${config.bucket}.${url.host}${path}`;
  }

  /** The URL of an object (the full key, root included), with an optional query. */
  objectUrl(fullKey: string, query?: Record<string, string>): string {
    return `${this.#base}/${encodeKey(fullKey)}${queryString(query)}`;
  }

  /** The URL of the bucket itself, for listing and batch deletes. */
  bucketUrl(query?: Record<string, string>): string {
    return `${this.#base}/${queryString(query)}`;
  }

  /**
   * Sends one request and resolves to the response, whatever its status (callers decide what a
   * 404 or 412 means). Unreachable, refused or silent endpoints become `ConnectionError` within
   * `timeout`; 5xx and 429 are retried a few times (the body is always bytes, so it can be resent).
   */
  async request(method: string, url: string, opts: RequestOptions = {}): Promise<Response> {
    for (let attempt = 0; ; attempt++) {
      const response = await this.#once(method, url, opts);
      if (!RETRY_STATUS.has(response.status) || attempt >= this.config.retries || opts.signal?.aborted) return response;
      await response.body?.cancel().catch(() => {});
      await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt * (1 + Math.random())));
    }
  }

  async #once(method: string, url: string, opts: RequestOptions): Promise<Response> {
    const init = await this.#sign(method, url, opts.headers ?? {});
    const timeout = new AbortController();
    // A body must be sent before the answer comes: allow it at least 64 KiB/s on top of the wait.
    const wait = this.config.timeout + ((opts.body?.byteLength ?? 0) / 65_536) * 1000;
    const timer = setTimeout(() => timeout.abort(), wait);
    const onAbort = () => timeout.abort();
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    try {
      return await fetch(init.url, {
        method,
        headers: init.headers,
        ...bodyInit(opts.body, init.headers),
        signal: timeout.signal,
      });
    } catch (error) {
      if (opts.signal?.aborted) throw opts.signal.reason;
      const where = `${method} ${this.#host}`;
      if (timeout.signal.aborted) {
        throw new ConnectionError(
          `S3 endpoint ${this.config.endpoint} sent no response within ${Math.round(wait)} ms (${where})`,
          { key: opts.key, cause: error },
        );
      }
      throw new ConnectionError(`S3 endpoint ${this.config.endpoint} is unreachable (${where}): ${reason(error)}`, {
        key: opts.key,
        cause: error,
      });
    } finally {
      clearTimeout(timer);
      opts.signal?.removeEventListener("abort", onAbort);
    }
  }

  async #sign(
    method: string,
    url: string,
    headers: Record<string, string>,
  ): Promise<{ url: string; headers: Headers }> {
    const signer = this.#signer({ method, url, headers });
    if (!signer) return { url, headers: new Headers(headers) };
    const signed = await signer.sign();
    return { url: signed.url.toString(), headers: signed.headers };
  }

  /** A presigned GET URL valid for `expires` seconds; the plain URL when requests go unsigned. */
  async presign(url: string, expires: number): Promise<string> {
    const withExpiry = new URL(url);
    withExpiry.searchParams.set("X-Amz-Expires", String(expires));
    const signer = this.#signer({ method: "GET", url: withExpiry.toString(), signQuery: true });
    return signer ? (await signer.sign()).url.toString() : url;
  }

  /** A SigV4 signer with this client's credentials, region and key cache; none without credentials. */
  #signer(request: {
    method: string;
    url: string;
    headers?: Record<string, string>;
    signQuery?: boolean;
  }): AwsV4Signer | undefined {
    const creds = this.config.credentials;
    if (!creds) return undefined;
    return new AwsV4Signer({
      ...request,
      accessKeyId: creds.accessKeyId,
      secretAccessKey: creds.secretAccessKey,
      sessionToken: creds.sessionToken,
      service: "s3",
      region: this.config.region,
      cache: this.#cache,
    });
  }

  /** The typed error for a failed response (reads its XML body; 4xx other than 404/412 included). */
  async failure(response: Response, what: string, key?: string): Promise<S3Failure> {
    const body = await response.text().catch(() => "");
    return errorFrom(response.status, body, response.headers, what, key);
  }
}

/** An AnystoreError for an S3 error status and XML body (also used for 200 responses that carry an `<Error>`). */
export function errorFrom(status: number, body: string, headers: Headers, what: string, key?: string): S3Failure {
  const code = text(body, "Code");
  const message = text(body, "Message");
  const requestId = text(body, "RequestId") ?? headers.get("x-amz-request-id") ?? undefined;
  const summary = `${status}${code ? ` ${code}` : ""}${message ? `: ${message}` : ""}`;
  const cause = new S3ResponseError(summary, status, code, requestId);
  const error = new AnystoreError(`S3 ${what} failed with ${summary}`, { key, cause }) as S3Failure;
  error.status = status;
  if (code) error.s3Code = code;
  return error;
}

const STREAM_FROM = 1024 * 1024;
const streamsBodies =
  typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node === "string";

/**
 * The body for fetch. Fetch copies a Uint8Array body (as the spec says), which for multipart
 * parts doubles memory and leaves garbage for the collector; where fetch can stream a request
 * with a known length (Node's undici: `duplex: "half"` plus Content-Length) large bodies are
 * streamed from the caller's buffer instead. Browsers get the bytes (their streamed uploads
 * need HTTP/2 and no length).
 */
function bodyInit(body: Uint8Array | undefined, headers: Headers): RequestInit {
  if (!body) return {};
  if (!streamsBodies || body.byteLength < STREAM_FROM) return { body: body as Uint8Array<ArrayBuffer> };
  headers.set("content-length", String(body.byteLength));
  let offset = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      const end = Math.min(offset + 256 * 1024, body.byteLength);
      controller.enqueue(body.subarray(offset, end));
      offset = end;
      if (offset >= body.byteLength) controller.close();
    },
  });
  return { body: stream, duplex: "half" } as RequestInit;
}

function queryString(query: Record<string, string> | undefined): string {
  if (!query) return "";
  const parts = Object.entries(query).map(([k, v]) =>
    v === "" ? encodeRfc3986(k) : `${encodeRfc3986(k)}=${encodeRfc3986(v)}`,
  );
  return parts.length ? `?${parts.join("&")}` : "";
}

function reason(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } })?.cause;
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}
