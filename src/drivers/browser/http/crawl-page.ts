/**
 * Fetching one index page for the crawler: a GET that follows no redirect by itself (a redirect
 * could lead anywhere), with a silence deadline, a deadline for the whole page and a cap on its
 * bytes, so a page that never ends, trickles or floods still finishes. Web APIs only.
 */

import { ConnectionError } from "../../../core/errors.js";

export interface PageRequest {
  fetch: typeof fetch;
  headers: Record<string, string> | undefined;
  /** Milliseconds without a byte before the page is given up. */
  timeout: number;
  /** Milliseconds for the whole page. */
  pageTimeout: number;
  /** Bytes read at most; the rest of a longer page is not read. */
  maxPageBytes: number;
  /** The crawl's own signal: when it aborts, the fetch does too and its reason is thrown. */
  signal: AbortSignal;
}

/** What came back for a page URL. Only the crawl's abort throws; every other failure is a value. */
export type Page =
  | { kind: "html"; text: string; truncated: boolean }
  | { kind: "redirect"; location: string }
  | { kind: "status"; status: number; headers: Headers }
  | { kind: "not-html"; contentType: string }
  | { kind: "timeout"; error: ConnectionError }
  | { kind: "unreachable"; error: ConnectionError };

const HTML = /^\s*(text\/html|application\/xhtml\+xml)\s*(;|$)/i;

/** Fetches one page; see `Page` for the outcomes. */
export async function fetchPage(url: string, o: PageRequest): Promise<Page> {
  if (o.signal.aborted) throw o.signal.reason;
  const controller = new AbortController();
  let late: "silence" | "deadline" | undefined;
  const giveUp = (why: "silence" | "deadline") => () => {
    late = why;
    controller.abort(
      new ConnectionError(
        why === "silence" ? `${url}: nothing for ${o.timeout} ms` : `${url}: not done within ${o.pageTimeout} ms`,
      ),
    );
  };
  let silence = arm(giveUp("silence"), o.timeout);
  const poke = () => {
    clearTimeout(silence);
    silence = arm(giveUp("silence"), o.timeout);
  };
  const deadline = arm(giveUp("deadline"), o.pageTimeout);
  const onAbort = () => controller.abort(o.signal.reason);
  o.signal.addEventListener("abort", onAbort, { once: true });
  try {
    const res = await o.fetch(url, {
      ...(o.headers && { headers: o.headers }),
      redirect: "manual",
      signal: controller.signal,
    });
    poke();
    const page = judge(res);
    if (page) {
      await res.body?.cancel().catch(() => {});
      return page;
    }
    return { kind: "html", ...(await readText(res, o.maxPageBytes, poke)) };
  } catch (error) {
    if (o.signal.aborted) throw o.signal.reason;
    const reason = controller.signal.reason as ConnectionError;
    if (late) return { kind: "timeout", error: reason };
    const message = error instanceof Error ? error.message : String(error);
    return { kind: "unreachable", error: new ConnectionError(`cannot reach ${url}: ${message}`, { cause: error }) };
  } finally {
    clearTimeout(silence);
    clearTimeout(deadline);
    o.signal.removeEventListener("abort", onAbort);
  }
}

/** A timer that keeps no Node process alive; none for 0 or Infinity (no deadline). */
function arm(then: () => void, ms: number): ReturnType<typeof setTimeout> | undefined {
  if (!(ms > 0 && Number.isFinite(ms))) return undefined;
  const timer = setTimeout(then, ms);
  (timer as { unref?: () => void }).unref?.();
  return timer;
}

/** The outcome of a response whose body is not wanted; undefined for an HTML page to read. */
function judge(res: Response): Page | undefined {
  const location = res.headers.get("location");
  if (res.status >= 300 && res.status < 400 && location !== null) return { kind: "redirect", location };
  // A browser hides where a manual redirect goes.
  if (res.type === "opaqueredirect") return { kind: "status", status: 0, headers: res.headers };
  if (!res.ok) return { kind: "status", status: res.status, headers: res.headers };
  const contentType = res.headers.get("content-type") ?? "";
  return HTML.test(contentType) ? undefined : { kind: "not-html", contentType };
}

/** The page as text, in its declared charset (UTF-8 when none or unknown), cut at `maxBytes`. */
async function readText(
  res: Response,
  maxBytes: number,
  progress: () => void,
): Promise<{ text: string; truncated: boolean }> {
  const decoder = textDecoder(res.headers.get("content-type"));
  if (!res.body) return { text: "", truncated: false };
  const reader = res.body.getReader();
  let text = "";
  let bytes = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { text: text + decoder.decode(), truncated: false };
      progress();
      const room = maxBytes - bytes;
      if (value.byteLength > room) {
        text += decoder.decode(value.subarray(0, room));
        return { text, truncated: true };
      }
      bytes += value.byteLength;
      text += decoder.decode(value, { stream: true });
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}

function textDecoder(contentType: string | null): TextDecoder {
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(contentType ?? "")?.[1];
  try {
    return new TextDecoder(charset ?? "utf-8");
  } catch {
    return new TextDecoder("utf-8");
  }
}
