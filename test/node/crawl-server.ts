/**
 * Web servers for the crawler's tests, on loopback: a hostile site under `/site/` (links upwards
 * and to other hosts, loops, 10,000 links, malformed HTML, an endless chain of folders, pages that
 * never end, redirects, invalid names) that logs every request, and a bystander server that only
 * counts the requests it gets (none should come). Also used by the browser project's setup.
 */

import type { IncomingMessage, Server, ServerResponse } from "node:http";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

export interface TestServer {
  /** `http://127.0.0.1:PORT` */
  origin: string;
  /** Request paths, as sent, in arrival order. */
  requests: string[];
  close(): Promise<void>;
}

async function listen(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ server: Server; origin: string; requests: string[] }> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(req.url ?? "");
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

async function stop(server: Server): Promise<void> {
  server.closeAllConnections(); // the pages that never end
  await new Promise((resolve) => server.close(resolve));
}

/** A server that answers 200 to anything and counts: the crawler must never reach it. With `cors`, `/__log` returns the log. */
export async function startBystander(cors = false): Promise<TestServer> {
  const open = cors ? { "access-control-allow-origin": "*" } : {};
  const { server, origin, requests } = await listen((req, res) => {
    if (cors && req.url === "/__log")
      return void res
        .writeHead(200, { "content-type": "application/json", ...open })
        .end(JSON.stringify(requests.filter((p) => p !== "/__log")));
    res.writeHead(200, { "content-type": "text/html", ...open }).end('<a href="bait.txt">bait</a>');
  });
  return { origin, requests, close: () => stop(server) };
}

const page = (links: string[]) =>
  `<!DOCTYPE html><html><body><ul>\n${links.map((href) => `<li><a href="${href}">${href}</a></li>`).join("\n")}\n</ul></body></html>`;

/** The hostile site's pages (folder paths under `/site/`, as requested) and what each sends. */
function sitePages(self: string, other: string): Record<string, string> {
  return {
    "/site/": page([
      "../",
      "/",
      "/outside/",
      "/site",
      "?C=N;O=D",
      "?C=M;O=A",
      "dynamic.php?id=1",
      "sorted/?C=N;O=D",
      "#top",
      "",
      "./",
      "/site/",
      `${other}/site/x.txt`,
      `${other}/site/`,
      `//${other.slice("http://".length)}/site/y.txt`,
      `${self.replace("http:", "https:")}/site/z.txt`,
      "mailto:someone@example.org",
      "javascript:void(0)",
      "top.txt",
      "./top.txt",
      "/site/top.txt",
      `${self}/site/top.txt`,
      "top.txt#section",
      "loop/a/",
      "many/",
      "malformed/",
      "deep/",
      "endless/",
      "trickle/",
      "missing/",
      "binary/",
      "bad/",
      "away/",
      "moved/",
      "subdir/",
      "indexed/",
      "spin/",
      "%73ubdir/",
      "./subdir/../subdir/",
    ]),
    "/site/loop/": page(["a/", "b/", "../"]),
    "/site/loop/a/": page(["../b/", "./", "/site/loop/a/", "../a/", "a1.txt", "../../loop/a/", "../../"]),
    "/site/loop/b/": page(["../a/", "b1.txt", "../../", "../../../", "../../../../../etc/"]),
    "/site/many/": page(Array.from({ length: 10_000 }, (_, i) => `f${String(i).padStart(5, "0")}.txt`)),
    "/site/malformed/": [
      "<html><body><ul",
      "<li><A HREF=unquoted.txt>u</A>",
      '<li><a title=">" href="after-gt.txt">x</a>',
      "<li><a\nhref='single.txt'>s</a>",
      '<!-- <a href="commented.txt">c</a> -->',
      "<script>document.write('<a href=\"scripted.txt\">s</a>')</script>",
      '<style>a[href="styled.txt"] { color: red }</style>',
      '<a href="amp&amp;ersand.txt">e</a>',
      '<a href="&#x6e;umeric.txt">n</a>',
      '<a href = "spaced.txt" >sp</a>',
      '<a hreflang="en" href="second-attr.txt">',
      '<a data-href="not-a-link.txt">',
      '<p href="p-tag.txt">',
      '<textarea><a href="in-textarea.txt"></textarea>',
      '< a href="not-a-tag.txt">',
      '<a href="unclosed.txt"',
      '<div><a href="after-unclosed.txt">',
      '<!-- an unclosed comment hides the rest: <a href="hidden.txt">',
    ].join("\n"),
    "/site/bad/": page([
      ".anystore/",
      ".anystore-tmp.txt",
      "back%5Cslash.txt",
      "nul%00.txt",
      "bad%zz.txt",
      "a%2Fb.txt",
      "%2e%2e/",
      "..%2F/",
      "lone%ED%A0%80.txt",
      "dot/./twice//x.txt",
      "ok.txt",
    ]),
    "/site/subdir/": page(["s.txt"]),
    "/site/indexed/index.html": page(["i.txt", "../indexed/"]),
    "/site/target/": page(["t.txt", "../moved/"]),
  };
}

/** Pages of an endless chain: every `/site/deep/(d/)*` lists `d/` and `f.txt`. */
const DEEP = /^\/site\/deep\/(d\/)*$/;

export interface HostileSite extends TestServer {
  /** The crawl base: `ORIGIN/site/`. */
  base: string;
}

/**
 * The hostile site. With `cors`, every answer admits any origin (for Chromium) and
 * `/__log` returns the request log as JSON.
 */
export async function startHostileSite(otherOrigin: string, cors = false): Promise<HostileSite> {
  let pages: Record<string, string> = {};
  const open = cors ? { "access-control-allow-origin": "*" } : {};
  const html = { "content-type": "text/html; charset=utf-8", ...open };
  const { server, origin, requests } = await listen((req, res) => {
    const path = req.url ?? "";
    if (path === "/__log")
      return void res
        .writeHead(200, { "content-type": "application/json", ...open })
        .end(JSON.stringify(requests.filter((p) => p !== "/__log")));
    if (pages[path] !== undefined) return void res.writeHead(200, html).end(pages[path]);
    if (DEEP.test(path)) return void res.writeHead(200, html).end(page(["d/", "f.txt", "../"]));
    switch (path) {
      case "/site/endless/": // headers and a start, then silence forever
        res.writeHead(200, html);
        return void res.write('<html><a href="e1.txt">e1</a>');
      case "/site/trickle/": {
        // a byte at a time, forever: only the page deadline ends it
        res.writeHead(200, html);
        const timer = setInterval(() => res.write(" "), 20);
        return void res.on("close", () => clearInterval(timer));
      }
      case "/site/binary/":
        return void res
          .writeHead(200, { "content-type": "application/octet-stream", ...open })
          .end(new Uint8Array(1 << 20));
      case "/site/away/":
        return void res.writeHead(302, { location: `${otherOrigin}/site/`, ...open }).end();
      case "/site/moved/":
        return void res.writeHead(301, { location: "/site/target/", ...open }).end();
      case "/site/indexed/":
        return void res.writeHead(302, { location: "index.html", ...open }).end();
      case "/site/spin/": // redirects in a circle, within the folder
      case "/site/spin/b.html":
        return void res.writeHead(302, { location: "a.html", ...open }).end();
      case "/site/spin/a.html":
        return void res.writeHead(302, { location: "/site/spin/b.html", ...open }).end();
    }
    if (/\.txt$/.test(path))
      return void res
        .writeHead(200, { "content-type": "text/plain", ...open })
        .end(`content of ${decodeURIComponent(path)}`);
    res.writeHead(404, { "content-type": "text/html", ...open }).end("<h1>not found</h1>");
  });
  pages = sitePages(origin, otherOrigin);
  return { origin, base: `${origin}/site/`, requests, close: () => stop(server) };
}
