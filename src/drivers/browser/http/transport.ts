/**
 * Plumbing for the http driver: fetch with an idle timeout, request bodies fed from a
 * writable with backpressure (Node), streams gathered into Blobs and PUT with progress
 * (browsers). Web APIs only.
 */

import type { AnystoreError } from "../../../core/errors.js";
import { ConnectionError } from "../../../core/errors.js";

/**
 * Whether a server is alive, shared by every request to it: anything heard from it lately (a
 * response, a body chunk) says yes at once; otherwise one `HEAD` of the base at a time asks, with the
 * store's headers (so it passes the same CORS and auth as the requests), and any answer (any
 * status) within the time given says yes.
 */
export interface Liveness {
  /** Something came from the server. */
  heard(): void;
  /** True when the server was heard within the last `ms`, or answers a check within `ms`. */
  check(ms: number): Promise<boolean>;
}

function liveness(probeUrl: string, doFetch: typeof fetch, headers: Record<string, string> | undefined): Liveness {
  let last = 0;
  let asking: Promise<boolean> | undefined;
  const heard = () => {
    last = Date.now();
  };
  const ask = async (ms: number) => {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), ms);
    (timer as { unref?: () => void }).unref?.();
    try {
      const res = await doFetch(probeUrl, {
        method: "HEAD",
        ...(headers && { headers }),
        signal: controller.signal,
      });
      await res.body?.cancel().catch(() => {});
      heard();
      return true;
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  };
  return {
    heard,
    check(ms) {
      if (Date.now() - last < ms) return Promise.resolve(true);
      asking ??= ask(ms).finally(() => {
        asking = undefined;
      });
      return asking;
    },
  };
}

/**
 * Fails a request after `ms` of silence: `poke` on progress, `stop` when done. With a `liveness`,
 * silence past half of `ms` asks the server (on another connection) whether it is alive; an
 * answer counts as progress, so a server busy on a long answer (a checksum of a large value,
 * storing a large upload) is waited for, while one that went silent (frozen, stopped, cut off)
 * fails within `ms`.
 */
export class Watchdog {
  readonly #controller = new AbortController();
  readonly #ms: number;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timedOut = false;
  /** Bumped by every poke and stop, so a late probe answer cannot revive a finished wait. */
  #epoch = 0;
  /** The server's liveness check; `requester` fills it in for watchdogs made without one. */
  liveness: Liveness | undefined;

  constructor(ms: number, outer?: AbortSignal, liveness?: Liveness) {
    this.#ms = ms;
    this.liveness = liveness;
    outer?.addEventListener("abort", () => this.abort(outer.reason), { once: true });
    this.poke();
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** Progress (a response, a chunk either way): the silence clock starts over. */
  poke(): void {
    this.stop();
    if (!(this.#ms > 0 && Number.isFinite(this.#ms))) return;
    this.#arm(this.liveness ? this.#ms / 2 : this.#ms, () => this.#silent());
  }

  /** Something came from the server: progress, and a sign of life for other requests to it. */
  heard(): void {
    this.liveness?.heard();
    this.poke();
  }

  stop(): void {
    this.#epoch++;
    clearTimeout(this.#timer);
  }

  abort(reason?: unknown): void {
    this.stop();
    this.#controller.abort(reason);
  }

  #arm(ms: number, then: () => void): void {
    this.#timer = setTimeout(then, ms);
    // A timer alone must not keep a Node process alive; the request's socket does while it is open.
    (this.#timer as { unref?: () => void }).unref?.();
  }

  /** Half the deadline went by in silence: ask the server, and give up at the deadline unless it answers. */
  #silent(): void {
    const epoch = this.#epoch;
    const budget = this.#ms / 2;
    this.#arm(budget, () => {
      this.#timedOut = true;
      this.#controller.abort(new ConnectionError(`no answer within ${this.#ms} ms`));
    });
    void this.liveness!.check(budget).then((alive) => {
      if (alive && epoch === this.#epoch && !this.#controller.signal.aborted) this.poke();
    });
  }

  /** The error to throw for a failed fetch or body read: network failures and timeouts are `ConnectionError`. */
  explain(error: unknown, where: string): unknown {
    if (this.#timedOut)
      return new ConnectionError(`${where} went silent: nothing for ${this.#ms} ms`, { cause: error });
    if (error instanceof TypeError)
      return new ConnectionError(`cannot reach ${where}: ${error.message}`, { cause: error });
    return error;
  }

  /** The body with the idle timeout applied to every chunk. */
  watch(body: ReadableStream<Uint8Array>, where: string): ReadableStream<Uint8Array> {
    const reader = body.getReader();
    return new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        try {
          const { done, value } = await reader.read();
          if (done) {
            this.stop();
            controller.close();
          } else {
            this.heard();
            controller.enqueue(value);
          }
        } catch (error) {
          this.stop();
          throw this.explain(error, where);
        }
      },
      cancel: (reason) => {
        this.stop();
        return reader.cancel(reason);
      },
    });
  }
}

export type Request = ((
  path: string,
  init?: RequestInit & { duplex?: "half" },
  headers?: Record<string, string | undefined>,
  watchdog?: Watchdog,
) => Promise<{ res: Response; watchdog: Watchdog }>) & {
  /** The server's liveness check, for watchdogs of requests made elsewhere (XMLHttpRequest uploads). */
  liveness: Liveness;
};

/**
 * A `fetch` against one origin with common headers, a silence deadline (see `Watchdog`) and
 * `ConnectionError` for network failures.
 */
export function requester(
  origin: string,
  o: { fetch?: typeof fetch; timeout: number; headers: Record<string, string>; basePath?: string },
): Request {
  const doFetch = o.fetch ?? globalThis.fetch.bind(globalThis);
  // No headers at all is cheaper for fetch than an empty object.
  const common = Object.keys(o.headers).length > 0 ? o.headers : undefined;
  // The probe asks the store's own base, never above it: a crawl must not leave its base.
  const alive = liveness(`${origin}${o.basePath ?? ""}/`, doFetch, common);
  async function request(
    path: string,
    init: RequestInit & { duplex?: "half" } = {},
    extra: Record<string, string | undefined> = {},
    watchdog = new Watchdog(o.timeout, init.signal ?? undefined, alive),
  ): Promise<{ res: Response; watchdog: Watchdog }> {
    watchdog.liveness ??= alive;
    let headers: Record<string, string> | undefined = common;
    for (const name in extra) {
      const value = extra[name];
      if (value === undefined) continue;
      if (headers === common) headers = { ...common };
      headers![name] = value;
    }
    try {
      const res = await doFetch(`${origin}${path}`, { ...init, ...(headers && { headers }), signal: watchdog.signal });
      watchdog.heard();
      return { res, watchdog };
    } catch (error) {
      watchdog.stop();
      throw watchdog.explain(error, origin);
    }
  }
  return Object.assign(request, { liveness: alive });
}

/**
 * Finishes a response whose body we do not need. A short body is read to the end, which
 * keeps the connection for the next request (cancelling makes undici drop it); a long one
 * (a chatty error page) is cancelled.
 */
export async function drainSmall(res: Response): Promise<void> {
  if (!res.body || res.bodyUsed) return;
  const reader = res.body.getReader();
  try {
    for (let seen = 0; seen <= 65_536; ) {
      const { done, value } = await reader.read();
      if (done) return;
      seen += value.byteLength;
    }
    await reader.cancel();
  } catch {
    // The body failed: nothing left to finish.
  }
}

/** At most `limit` characters of a body (an error message), then the connection is let go. */
export async function shortText(res: Response, limit = 4096): Promise<string> {
  if (!res.body || res.bodyUsed) return "";
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let text = "";
  try {
    while (text.length < limit) {
      const { done, value } = await reader.read();
      if (done) return text;
      text += decoder.decode(value, { stream: true });
    }
    await reader.cancel();
  } catch {
    // A broken error body: the status alone will do.
  }
  return text.slice(0, limit);
}

/** The length of a body nobody announced, counted as it streams by. */
export async function countBytes(body: ReadableStream<Uint8Array>): Promise<number> {
  let size = 0;
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) size += chunk.byteLength;
  return size;
}

/**
 * A request body fed by `push`, one stream layer deep: `push` resolves once the network has
 * room (about `highWaterMark` bytes queued), so memory stays bounded whatever the writer does.
 */
export function bodyFeed(highWaterMark = 4 * 1024 * 1024): {
  body: ReadableStream<Uint8Array>;
  push(chunk: Uint8Array): Promise<void>;
  end(): void;
  error(reason: unknown): void;
} {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let wake: (() => void) | undefined;
  let gone: unknown;
  const body = new ReadableStream<Uint8Array>(
    {
      start: (c) => {
        controller = c;
      },
      pull: () => {
        wake?.();
        wake = undefined;
      },
      cancel: (reason) => {
        gone = reason ?? new Error("the request body was cancelled");
        wake?.();
      },
    },
    { highWaterMark, size: (chunk) => chunk.byteLength },
  );
  return {
    body,
    async push(chunk) {
      if (gone !== undefined) throw gone;
      controller.enqueue(chunk);
      if ((controller.desiredSize ?? 0) <= 0) await new Promise<void>((resolve) => (wake = resolve));
      if (gone !== undefined) throw gone;
    },
    end: () => controller.close(),
    error: (reason) => {
      if (gone === undefined) controller.error(reason);
    },
  };
}

export interface PutBlobOptions {
  key: string;
  onProgress?: ((progress: { key: string; loaded: number; total?: number }) => void) | undefined;
  /** Milliseconds of silence before failing with `ConnectionError` (see `Watchdog`). */
  timeout: number;
  /** The server's liveness check, so the wait while it stores a large upload is not silence. */
  liveness?: Liveness | undefined;
  signal?: AbortSignal | undefined;
  fail: (status: number, headers: Headers, body: string) => AnystoreError;
}

function parseHeaders(raw: string): Headers {
  const headers = new Headers();
  for (const line of raw.trim().split(/[\r\n]+/)) {
    const at = line.indexOf(":");
    if (at > 0) headers.append(line.slice(0, at).trim(), line.slice(at + 1).trim());
  }
  return headers;
}

/**
 * PUTs a Blob with XMLHttpRequest, the one browser API that reports upload progress; the
 * progress also keeps the silence deadline from firing during a long upload.
 */
export function putBlob(url: string, blob: Blob, headers: Record<string, string>, o: PutBlobOptions): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    const watchdog = new Watchdog(o.timeout, o.signal, o.liveness);
    let settled = false;
    const settle = (error?: unknown) => {
      if (settled) return;
      settled = true;
      watchdog.stop();
      if (error === undefined) resolve();
      else reject(error);
    };
    // Silence or the caller's signal: settle with the reason first, then abort (its event would say less).
    watchdog.signal.addEventListener("abort", () => {
      settle(watchdog.explain(watchdog.signal.reason, url));
      xhr.abort();
    });
    xhr.open("PUT", url);
    for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
    // Listened to even without a callback: progress is what keeps a long upload alive.
    xhr.upload.onprogress = (event) => {
      watchdog.poke();
      o.onProgress?.({ key: o.key, loaded: event.loaded, total: event.lengthComputable ? event.total : blob.size });
    };
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        o.onProgress?.({ key: o.key, loaded: blob.size, total: blob.size });
        settle();
      } else settle(o.fail(xhr.status, parseHeaders(xhr.getAllResponseHeaders()), String(xhr.responseText ?? "")));
    };
    xhr.onerror = () => settle(new ConnectionError(`cannot reach ${url}`));
    xhr.onabort = () => settle(o.signal?.reason ?? new ConnectionError(`upload to ${url} aborted`));
    xhr.send(blob);
  });
}
