/**
 * The demo server: one `node:http` listener that serves the notebook page and, under
 * `/notebook`, the team's notebook over the anystore HTTP protocol (`createHandler`), backed by
 * an embedded SQLite file. The anystore functions are passed in, so `server.mjs` can use the
 * built package and the e2e test the sources.
 */
import { createReadStream } from "node:fs";
import { mkdir, stat } from "node:fs/promises";
import { createServer } from "node:http";
import { dirname, join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

/** The namespace the page's remote store lives under: `anystore+http://host/notebook`. */
export const NAMESPACE = "notebook";

/** The only files served besides the API; nothing else on disk is reachable. */
const ASSETS = {
  "/": [join(here, "public/index.html"), "text/html; charset=utf-8"],
  "/style.css": [join(here, "public/style.css"), "text/css; charset=utf-8"],
  "/sw.js": [join(here, "public/sw.js"), "text/javascript; charset=utf-8"],
  "/favicon.svg": [join(here, "public/favicon.svg"), "image/svg+xml"],
  "/app.js": [join(here, "dist/app.js"), "text/javascript; charset=utf-8"],
  "/app.js.map": [join(here, "dist/app.js.map"), "application/json"],
};

/**
 * True for requests the anystore handler answers: keys under `/notebook/`, and the listing
 * form the http driver uses (`GET /?prefix=notebook/...`, Python anystore's), so the CLI works
 * too: `anystore --store anystore+http://127.0.0.1:8787/notebook keys --info`.
 */
function isApi(url) {
  if (url.pathname === `/${NAMESPACE}` || url.pathname.startsWith(`/${NAMESPACE}/`)) return true;
  return url.pathname === "/" && ["prefix", "glob", "exclude_prefix"].some((p) => url.searchParams.has(p));
}

async function sendAsset(path, res) {
  const asset = ASSETS[path];
  const size =
    asset &&
    (await stat(asset[0]).then(
      (s) => s.size,
      () => null,
    ));
  if (size === null || size === undefined) {
    res
      .writeHead(404, { "content-type": "text/plain; charset=utf-8" })
      .end(asset ? "not built: run `npm start`\n" : "not found\n");
    return;
  }
  // no-cache: revalidate every time, so a rebuilt page is picked up (the service worker keeps an offline copy).
  res.writeHead(200, { "content-type": asset[1], "content-length": String(size), "cache-control": "no-cache" });
  await pipeline(createReadStream(asset[0]), res);
}

/** Node request -> web Request -> handler -> Node response, bodies streamed both ways. */
async function sendApi(handler, req, res, url) {
  const headers = new Headers();
  for (let i = 0; i < req.rawHeaders.length; i += 2) headers.append(req.rawHeaders[i], req.rawHeaders[i + 1]);
  const hasBody = !["GET", "HEAD", "OPTIONS"].includes(req.method ?? "GET");
  const aborted = new AbortController();
  res.on("close", () => res.writableFinished || aborted.abort());
  const request = new Request(url, {
    method: req.method,
    headers,
    signal: aborted.signal,
    ...(hasBody && { body: Readable.toWeb(req), duplex: "half" }),
  });
  const response = await handler(request);
  res.writeHead(response.status, Object.fromEntries(response.headers));
  if (!response.body || req.method === "HEAD") {
    await response.body?.cancel();
    res.end();
    return;
  }
  await pipeline(Readable.fromWeb(response.body), res);
}

/**
 * Starts the demo server; resolves once listening.
 * @param {{ createStore: Function, createHandler: Function }} anystore the package (built or source)
 * @param {{ db: string, port?: number, host?: string }} options `db` is the SQLite file's path
 * @returns {Promise<{ url: string, close(): Promise<void> }>}
 */
export async function startDemoServer(anystore, { db, port = 8787, host = "127.0.0.1" }) {
  await mkdir(dirname(db), { recursive: true });
  // sqlite:////abs/path.db for an absolute path. SQLite has no change feed: the store polls its
  // table for the watches the pages follow (GET /notebook/notes/?watch=true); every 200 ms keeps
  // a note's trip from one page to another well under a second.
  const store = anystore.createStore(`sqlite:///${db}`, { watchInterval: 200 });
  const handler = anystore.createHandler(store, { maxBodyBytes: 2 ** 30 });
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", `http://${req.headers.host ?? host}`);
    const work = isApi(url) ? sendApi(handler, req, res, url) : sendAsset(url.pathname, res);
    work.catch((error) => res.destroy(error));
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const url = `http://${host}:${server.address().port}`;
  return {
    url,
    async close() {
      await new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await store.close();
    },
  };
}
