/**
 * The http driver's change feed (SPEC 11), loaded on the first watch: `GET /?watch=true&prefix=p`
 * read as server-sent events with `fetch` (so the store's headers and token go with it, which
 * `EventSource` cannot do). A stream that ends, breaks or falls silent (no keepalive comment for
 * `SILENCE_MS`) is opened again with backoff, and `resync` is reported once it is back. Against a
 * server that answers the request with a listing instead of an event stream (Python anystore's
 * app) the watch rejects with `UnsupportedError`, and the store polls listings. Web APIs only.
 */

import type { DriverWatchEvent } from "../../../core/driver/contract.js";
import { ConnectionError, UnsupportedError } from "../../../core/errors.js";

type Emit = (event: DriverWatchEvent) => void;

/** The server comments at least every 15 s; this much silence means the stream is dead. */
const SILENCE_MS = 45_000;
const MAX_BACKOFF_MS = 2_000;
const backoff = (attempt: number) => Math.min(250 * 2 ** attempt, MAX_BACKOFF_MS);

export interface EventSourceOptions {
  /** The absolute url of the event stream. */
  url: string;
  fetch: typeof fetch;
  headers: Record<string, string>;
  /** Milliseconds to wait for the response's headers. */
  timeout: number;
  /** Turns a refused first request into the store's error. */
  fail(res: Response): Promise<never>;
}

/** Parses an event stream incrementally: feed text, get events (`event` and joined `data` lines). */
export function eventParser(onEvent: (type: string, data: string) => void): (text: string) => void {
  let rest = "";
  let type = "";
  let data: string[] = [];
  return (text) => {
    const lines = (rest + text).split(/\r\n|\r|\n/);
    // A trailing "\r" may be the first half of "\r\n": keep it with the unfinished line.
    rest = lines.pop()!;
    if (rest === "" && text.endsWith("\r")) rest = "\r";
    for (const line of lines) {
      if (line === "") {
        if (type !== "" || data.length > 0) onEvent(type || "message", data.join("\n"));
        type = "";
        data = [];
        continue;
      }
      if (line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon === -1 ? line : line.slice(0, colon);
      let value = colon === -1 ? "" : line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "event") type = value;
      else if (field === "data") data.push(value);
    }
  };
}

/**
 * Reads the event stream at `o.url` and reports its events with `prefix` in front of each key,
 * until `signal` aborts. Resolves once the server listens (its answer's headers came).
 */
export async function watchEventStream(o: EventSourceOptions, prefix: string, emit: Emit, signal: AbortSignal) {
  let attempt = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let current: AbortController | undefined;
  signal.addEventListener(
    "abort",
    () => {
      clearTimeout(timer);
      current?.abort();
    },
    { once: true },
  );

  const onEvent = (type: string, data: string) => {
    if (type === "resync") emit({ type: "resync" });
    else if (type === "put" || type === "delete") emit({ type, key: prefix + data });
  };

  /** One connection: resolves with its response once the headers are in, or rejects. */
  const open = async (): Promise<Response> => {
    const controller = new AbortController();
    current = controller;
    const late = setTimeout(() => controller.abort(), o.timeout);
    try {
      return await o.fetch(o.url, {
        headers: { ...o.headers, accept: "text/event-stream" },
        signal: controller.signal,
        cache: "no-store",
      });
    } finally {
      clearTimeout(late);
    }
  };

  /** Reads a stream to its end (or silence); then the caller reconnects. */
  const consume = async (res: Response) => {
    const controller = current!;
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    const parse = eventParser(onEvent);
    let silence: ReturnType<typeof setTimeout> | undefined;
    const heard = () => {
      clearTimeout(silence);
      silence = setTimeout(() => controller.abort(), SILENCE_MS);
    };
    heard();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        heard();
        parse(decoder.decode(value, { stream: true }));
      }
    } catch {
      // a cut connection: reconnect
    } finally {
      clearTimeout(silence);
      reader.cancel().catch(() => {});
    }
  };

  const isEventStream = (res: Response) => /^text\/event-stream/i.test(res.headers.get("content-type") ?? "");

  /** Connects again until it works (or the watch ends), then reports the gap and reads on. */
  const reconnect = () => {
    if (signal.aborted) return;
    timer = setTimeout(async () => {
      let res: Response | undefined;
      try {
        res = await open();
      } catch {
        res = undefined;
      }
      if (signal.aborted) return void res?.body?.cancel().catch(() => {});
      if (!res?.ok || !isEventStream(res)) {
        await res?.body?.cancel().catch(() => {});
        attempt++;
        return reconnect();
      }
      attempt = 0;
      emit({ type: "resync" });
      await consume(res);
      attempt = 0;
      reconnect();
    }, backoff(attempt));
  };

  let first: Response;
  try {
    first = await open();
  } catch (error) {
    if (signal.aborted) return;
    throw new ConnectionError(`cannot watch ${o.url}: ${(error as Error)?.message ?? error}`, { cause: error });
  }
  if (!first.ok) return o.fail(first);
  if (!isEventStream(first)) {
    await first.body?.cancel().catch(() => {});
    // The store polls listings instead (SPEC 11).
    throw new UnsupportedError(`${o.url} answers a watch without events (not an anystore server with SPEC 11)`);
  }
  void consume(first).then(reconnect);
}

export interface ServerWatch {
  origin: string;
  /** The key prefix the store's url stands for (`""` or without a trailing `/`). */
  prefix: string;
  fetch: typeof fetch | undefined;
  headers: Record<string, string>;
  timeout: number;
  fail(res: Response): Promise<never>;
}

/**
 * `Driver.watch` of an anystore+http store, in Python's query form, which anystore servers answer.
 * Rejects with `UnsupportedError` when the server answers with a listing: the store polls then.
 */
export function watchServer(w: ServerWatch, watchPrefix: string, emit: Emit, signal: AbortSignal): Promise<void> {
  const full = [w.prefix, watchPrefix.replace(/\/$/, "")].filter(Boolean).join("/");
  const source: EventSourceOptions = {
    url: `${w.origin}/?watch=true${full ? `&prefix=${encodeURIComponent(full)}` : ""}`,
    fetch: w.fetch ?? globalThis.fetch.bind(globalThis),
    headers: w.headers,
    timeout: w.timeout,
    fail: w.fail,
  };
  return watchEventStream(source, watchPrefix, emit, signal);
}
