/**
 * Lists the files of a plain web server by crawling its index pages (SPEC 15), as Python
 * anystore does through fsspec's HTTP filesystem: fetch the start page, read its `<a href>`
 * links, keep those under the base, recurse into the ones ending in `/` (sub-listings), yield
 * the others as keys. Works with `python -m http.server`, nginx `autoindex`, Apache listings and
 * hand-written index pages. Web APIs only: runs in browsers (against a CORS-open server) and Node.
 *
 * Bounded whatever the server sends: each page is fetched once, at most `maxPages` of them, no
 * deeper than `maxDepth`, `concurrency` at a time, each within its deadlines and byte cap, reading
 * at most `maxLinksPerPage` links; no request leaves the base (redirects are not followed there).
 */

import { AnystoreError, InvalidArgumentError, NotFoundError, UnsupportedError } from "../../../core/errors.js";
import { encodeKey, errorFromResponse } from "../../../core/http/protocol.js";
import { normalizeKey, normalizePrefix } from "../../../core/keys.js";
import { extractLinks } from "./crawl-links.js";
import { fetchPage, type Page } from "./crawl-page.js";

/** A page the crawl did not read, and why. */
export interface CrawlSkip {
  url: string;
  reason: string;
}

/** The crawl's limits; also options of `http(s)://` stores, where they apply to `keys()`. */
export interface CrawlLimits {
  /**
   * How many folders below the start the crawl descends.
   * @default 16
   */
  maxDepth?: number;
  /**
   * Index pages fetched at the same time.
   * @default 4
   */
  concurrency?: number;
  /**
   * Index pages fetched in one listing, at most; further sub-listings are skipped.
   * @default 10000
   */
  maxPages?: number;
  /**
   * Links read from one page, at most; the rest of the page is ignored.
   * @default 100000
   */
  maxLinksPerPage?: number;
  /**
   * Bytes read from one page, at most; the rest of the page is ignored.
   * @default 8 MiB
   */
  maxPageBytes?: number;
  /**
   * Milliseconds one index page may take from request to last byte.
   * @default 60000
   */
  pageTimeout?: number;
  /** Told of every page the crawl skipped (not HTML, 404, too deep, over a limit, timed out) and of every cut page. */
  onSkip?: (skip: CrawlSkip) => void;
}

export interface CrawlOptions extends CrawlLimits {
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Sent with every page request. */
  headers?: Record<string, string>;
  /**
   * Milliseconds a page may stay silent (no response, no byte) before it is given up.
   * @default 5000
   */
  timeout?: number;
  /** Stops the crawl; the listing then rejects with its reason. */
  signal?: AbortSignal;
  /** Crawl from `base/prefix/` only; keys stay relative to `base`. */
  prefix?: string;
  /** Named in errors (the store's uri). @default base */
  store?: string;
}

const DEFAULTS = {
  maxDepth: 16,
  concurrency: 4,
  maxPages: 10_000,
  maxLinksPerPage: 100_000,
  maxPageBytes: 8 * 2 ** 20,
  pageTimeout: 60_000,
  timeout: 5_000,
};

/** What the crawl knows of a folder's index page. */
type State = "queued" | "listed" | "failed";

interface Visit {
  dir: string;
  depth: number;
}

type Outcome = Visit & { page: Page };

/** A page being fetched; it resolves to its outcome and itself, so the loop knows which one finished. */
interface Running extends Visit {
  page: Page;
  task: Promise<Running>;
}

/**
 * The keys of the files under `base` (an `http(s)://` URL of a folder), page by page: one array
 * per index page read, each key once, relative to `base` and percent-decoded. A link whose key
 * would be invalid (SPEC 5) is never yielded. Throws `NotFoundError` when the start page is
 * missing (an empty listing for a missing `prefix`), `ConnectionError` when the server cannot
 * be reached, an `AnystoreError` for other error statuses; a failing sub-listing is skipped.
 * @example
 * for await (const keys of crawlKeys("http://127.0.0.1:8000/docs/")) console.log(keys);
 */
export async function* crawlKeys(base: string, opts: CrawlOptions = {}): AsyncGenerator<string[], void, undefined> {
  const limits = settings(opts);
  const root = rootOf(base);
  const store = opts.store ?? base;
  const prefix = normalizePrefix(opts.prefix, store);
  const under = prefix === "" ? "" : `${prefix}/`;
  const pageUrl = (dir: string) => (dir === "" ? root.href : `${root.href}${encodeKey(dir)}/`);
  const skip = (url: string, reason: string) => opts.onSkip?.({ url, reason });

  const crawl = new AbortController();
  const stop = () => crawl.abort(opts.signal!.reason);
  if (opts.signal?.aborted) throw opts.signal.reason;
  opts.signal?.addEventListener("abort", stop, { once: true });
  const request = {
    fetch: opts.fetch ?? globalThis.fetch.bind(globalThis),
    headers: nonEmpty(opts.headers),
    signal: crawl.signal,
    ...limits,
  };

  const folders = new Map<string, State>([[prefix, "queued"]]);
  /** Files yielded from a page other than their folder's: that folder's own listing must not yield them again. */
  const foreign = new Set<string>();
  const queue: Visit[] = [{ dir: prefix, depth: 0 }];
  const running = new Set<Promise<Running>>();

  const enqueue = (dir: string) => {
    if (folders.has(dir)) return;
    const depth = segments(dir) - segments(prefix);
    if (depth > limits.maxDepth) return skip(pageUrl(dir), `deeper than maxDepth (${limits.maxDepth})`);
    if (folders.size >= limits.maxPages) return skip(pageUrl(dir), `over maxPages (${limits.maxPages})`);
    folders.set(dir, "queued");
    queue.push({ dir, depth });
  };

  /** The new keys of a listed page; queues its sub-listings. */
  const readListing = (dir: string, url: string, text: string): string[] => {
    const { links, truncated } = extractLinks(text, limits.maxLinksPerPage);
    if (truncated) skip(url, `links past maxLinksPerPage (${limits.maxLinksPerPage}) ignored`);
    const files: string[] = [];
    const here = new Set<string>();
    for (const href of links) {
      const link = resolveLink(href, url, root);
      if (link === undefined || !(link.key.startsWith(under) && link.key.length > under.length)) continue;
      if (link.folder) {
        enqueue(link.key);
        continue;
      }
      const parent = parentOf(link.key);
      if (parent === dir) {
        if (here.has(link.key) || foreign.has(link.key)) continue;
        here.add(link.key);
      } else {
        if (foreign.has(link.key) || folders.get(parent) === "listed") continue;
        foreign.add(link.key);
      }
      files.push(link.key);
    }
    folders.set(dir, "listed");
    return files;
  };

  /** A folder's page; a redirect to a file of the same folder (`index.html`) is followed, a few times at most. */
  const load = async (dir: string): Promise<Page> => {
    let url = pageUrl(dir);
    for (let hop = 0; ; hop++) {
      const page = await fetchPage(url, request);
      if (page.kind !== "redirect" || hop === 3) return page;
      const target = resolveLink(page.location, url, root);
      if (target === undefined || target.folder || parentOf(target.key) !== dir) return page;
      url = `${root.href}${encodeKey(target.key)}`;
    }
  };

  /** The keys an outcome adds; throws what ends the crawl. */
  const settle = ({ dir, depth, page }: Outcome): string[] => {
    const url = pageUrl(dir);
    if (page.kind === "html") {
      if (page.truncated) skip(url, `bytes past maxPageBytes (${limits.maxPageBytes}) ignored`);
      return readListing(dir, url, page.text);
    }
    folders.set(dir, "failed");
    if (page.kind === "unreachable") throw page.error;
    const start = depth === 0;
    if (page.kind === "redirect") {
      const target = resolveLink(page.location, url, root);
      if (target?.folder && target.key.startsWith(under)) enqueue(target.key);
      else if (start)
        throw new UnsupportedError(
          `${url} redirects to ${page.location}, not a folder under the crawled base: use that address`,
          { store },
        );
      skip(url, `redirects to ${page.location}`);
      return [];
    }
    if (start) return startFailure(url, page, prefix !== "", store);
    skip(url, reasonOf(page));
    return [];
  };

  try {
    while (queue.length > 0 || running.size > 0) {
      while (running.size < limits.concurrency && queue.length > 0) {
        const visit = queue.shift()!;
        const task: Promise<Running> = load(visit.dir).then((page) => ({ ...visit, page, task }));
        running.add(task);
      }
      const outcome = await Promise.race(running);
      running.delete(outcome.task);
      const files = settle(outcome);
      if (files.length > 0) yield files;
    }
  } finally {
    // A consumer that stops early, an error or the end: nothing keeps fetching.
    crawl.abort(new AnystoreError("the crawl ended"));
    opts.signal?.removeEventListener("abort", stop);
    for (const task of running) task.catch(() => {});
  }
}

function reasonOf(page: Exclude<Page, { kind: "html" | "redirect" | "unreachable" }>): string {
  if (page.kind === "not-html") return `not HTML (${page.contentType || "no content type"})`;
  if (page.kind === "timeout") return page.error.message;
  return page.status === 0 ? "redirects (the browser hides where)" : `HTTP ${page.status}`;
}

/** A missing start page is an empty listing under a prefix, a `NotFoundError` at the base. */
function startFailure(
  url: string,
  page: Exclude<Page, { kind: "html" | "redirect" | "unreachable" }>,
  prefixed: boolean,
  store: string,
): string[] {
  if (page.kind === "timeout") throw page.error;
  const missing = page.kind === "status" && (page.status === 404 || page.status === 410);
  if (missing && prefixed) return [];
  if (missing) throw new NotFoundError(`no index page at ${url} (HTTP ${page.status})`, { store });
  if (page.kind === "not-html") {
    if (prefixed) return [];
    const hint = /^text\/plain/i.test(page.contentType) ? "; an anystore server lists over anystore+http(s)://" : "";
    throw new UnsupportedError(
      `${url} is not an HTML index page (${page.contentType || "no content type"}): nothing to list${hint}`,
      { store },
    );
  }
  if (page.status === 0)
    throw new UnsupportedError(`${url} redirects, and the browser hides where: use the address it redirects to`, {
      store,
    });
  throw errorFromResponse(page.status, page.headers, "", { store });
}

/** The crawl root: the base as a folder URL (ending in `/`), its decoded path segments. */
interface Root {
  href: string;
  origin: string;
  segments: string[];
}

function rootOf(base: string): Root {
  let url: URL;
  try {
    url = new URL(base);
  } catch (error) {
    throw new InvalidArgumentError(`cannot crawl ${JSON.stringify(base)}: not a URL`, { cause: error });
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw new InvalidArgumentError(`cannot crawl ${base}: only http(s) URLs`);
  const path = url.pathname.endsWith("/") ? url.pathname : `${url.pathname}/`;
  const decoded = decodeSegments(path.split("/").slice(1, -1));
  if (decoded === undefined)
    throw new InvalidArgumentError(`cannot crawl ${base}: its path is not valid percent-encoded UTF-8`);
  return { href: `${url.origin}${path}`, origin: url.origin, segments: decoded };
}

/**
 * The key a link stands for, and whether it is a folder (ends in `/`); undefined when it leaves
 * the root (another origin, upwards), carries a query (Apache's `?C=N;O=D` sort links), or
 * decodes to something that is not a valid key (SPEC 5) or would not map back to this URL.
 */
export function resolveLink(href: string, page: string, root: Root): { key: string; folder: boolean } | undefined {
  let url: URL;
  try {
    url = new URL(href, page);
  } catch {
    return undefined;
  }
  if (url.origin !== root.origin || url.search !== "" || url.username !== "" || url.password !== "") return undefined;
  const folder = url.pathname.endsWith("/");
  const parts = url.pathname.split("/").slice(1, folder ? -1 : undefined);
  if (parts.length <= root.segments.length) return undefined;
  const decoded = decodeSegments(parts);
  if (decoded === undefined || root.segments.some((segment, i) => decoded[i] !== segment)) return undefined;
  const relative = decoded.slice(root.segments.length);
  if (relative.some((segment) => segment === "" || segment.includes("/"))) return undefined;
  const key = relative.join("/");
  return isKey(key) ? { key, folder } : undefined;
}

function decodeSegments(parts: string[]): string[] | undefined {
  try {
    return parts.map(decodeURIComponent);
  } catch {
    return undefined; // not UTF-8: no key reads it back
  }
}

function isKey(key: string): boolean {
  try {
    return normalizeKey(key) === key;
  } catch {
    return false;
  }
}

const parentOf = (key: string) => key.slice(0, Math.max(key.lastIndexOf("/"), 0));

const segments = (key: string) => (key === "" ? 0 : key.split("/").length);

const nonEmpty = (headers: Record<string, string> | undefined) =>
  headers && Object.keys(headers).length > 0 ? headers : undefined;

function settings(opts: CrawlOptions): Required<Omit<CrawlLimits, "onSkip">> & { timeout: number } {
  const out = { ...DEFAULTS };
  for (const name of Object.keys(DEFAULTS) as Array<keyof typeof DEFAULTS>) {
    const value = opts[name];
    if (value === undefined) continue;
    // 0 or Infinity: no deadline, as the http driver's `timeout`.
    const time = name === "timeout" || name === "pageTimeout";
    const least = name === "maxDepth" || time ? 0 : 1;
    if (typeof value !== "number" || !(value >= least) || (!time && !Number.isInteger(value))) {
      throw new InvalidArgumentError(`${name} must be a number of at least ${least}, got ${String(value)}`);
    }
    out[name] = value;
  }
  return out;
}
