/**
 * Listing keys over the anystore HTTP protocol (SPEC 8): `GET /{prefix}/` answers the keys
 * under the prefix, relative to it, one per line. Our server and Python anystore's app (1.x)
 * both answer it, so a prefix listing moves only that prefix's keys. Web APIs only.
 */

import { encodeKey } from "../../../core/http/protocol.js";
import type { Request, Watchdog } from "./transport.js";
import { drainSmall } from "./transport.js";

export interface ListingContext {
  request: Request;
  /** The key prefix the store's uri path stands for ("" for none). */
  prefix: string;
  /** The store's url, for error messages and the watchdog. */
  base: string;
  /** Throws the error a non-2xx response stands for. */
  fail: (res: Response, key?: string, watchdog?: Watchdog) => Promise<never>;
}

/**
 * Yields the keys under `listPrefix` ("" or ending in "/"), relative to the store, a page per
 * chunk of the response. A server that answers `GET /{prefix}/` with 404 is an older Python
 * app, which only knows `GET /?prefix=` (keys relative to the server's root): the listing asks
 * that way instead.
 */
export async function* listKeys(ctx: ListingContext, listPrefix: string): AsyncGenerator<string[]> {
  const full = [ctx.prefix, listPrefix.replace(/\/$/, "")].filter(Boolean).join("/");
  let { res, watchdog } = await ctx.request(full ? `/${encodeKey(full)}/` : "/");
  let strip = "";
  if (res.status === 404 && full) {
    watchdog.stop();
    await drainSmall(res);
    ({ res, watchdog } = await ctx.request(`/?prefix=${encodeURIComponent(full)}`));
    strip = `${full}/`;
  }
  if (!res.ok) return ctx.fail(res, undefined, watchdog);
  if (!res.body) return watchdog.stop();
  for await (const lines of linePages(watchdog.watch(res.body, ctx.base))) {
    const keys: string[] = [];
    for (const line of lines) {
      if (line === "") continue; // a key equal to the prefix lists as an empty line in Python's app
      if (!strip) keys.push(listPrefix + line);
      // The old form may list more than asked (a server that ignores the parameter): keep ours.
      else if (line.startsWith(strip) && line.length > strip.length) keys.push(listPrefix + line.slice(strip.length));
    }
    if (keys.length > 0) yield keys;
  }
}

/** The lines of a text body, without their endings, as one array per chunk read (a promise per chunk, not per line). */
async function* linePages(body: ReadableStream<Uint8Array>): AsyncGenerator<string[]> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let rest = "";
  try {
    for (;;) {
      const { done, value } = await reader.read();
      const parts = (rest + decoder.decode(value, { stream: !done })).split("\n");
      rest = done ? "" : parts.pop()!;
      yield parts.map((part) => (part.endsWith("\r") ? part.slice(0, -1) : part));
      if (done) return;
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}
