/**
 * How the anystore+http client lists a prefix (SPEC 8): `GET /{prefix}/`, the one form both our
 * server and Python anystore's app (1.x) answer, so only that prefix's keys travel. The servers
 * here are small real node:http servers that answer listings the way Python's app does
 * (`anystore/api/routes.py`: keys relative to the listed prefix, `key\n` each, an unknown
 * `?prefix=` ignored) or the way older Python apps did (`GET /?prefix=` only), and count what
 * they send.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { createStore, type RunningServer, serve } from "../../src/index.node.js";
import { collectKeys } from "../shared/contract.js";

interface Logged {
  url: string;
  /** Request lines, `GET /path?query`. */
  requests: string[];
  /** Bytes of listing bodies sent. */
  bytes: number;
}

const servers: Array<Server | RunningServer> = [];
afterAll(async () => {
  await Promise.all(
    servers.map((s) => {
      if ("url" in s) return s.close();
      s.closeAllConnections();
      return new Promise<void>((resolve) => s.close(() => resolve()));
    }),
  );
});

/** Listing answers of a server that knows only one listing form; every other GET is a 404. */
async function listingServer(keys: string[], form: "path" | "query"): Promise<Logged> {
  const log: Logged = { url: "", requests: [], bytes: 0 };
  const server = createServer((req, res) => {
    log.requests.push(`${req.method} ${req.url}`);
    const url = new URL(req.url!, "http://x");
    const path = decodeURIComponent(url.pathname);
    let lines: string[] | undefined;
    if (form === "path" && path.endsWith("/")) {
      // Python 1.x: `GET /` lists everything, `GET /p/` the keys under p, relative to it.
      const prefix = path.slice(1);
      lines = keys.filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length));
    } else if (form === "query" && path === "/") {
      // Older Python apps: `GET /?prefix=p` gives the keys under p, relative to the store.
      const prefix = url.searchParams.get("prefix");
      lines = prefix ? keys.filter((k) => k.startsWith(`${prefix}/`)) : keys;
    }
    if (!lines) {
      res.writeHead(404, { "content-type": "application/json" }).end('{"detail":"Not Found"}');
      return;
    }
    const body = Buffer.from(lines.map((k) => `${k}\n`).join(""));
    log.bytes += body.byteLength;
    res.writeHead(200, { "content-type": "application/octet-stream" }).end(body);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  log.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return log;
}

const wanted = ["wanted/a.txt", "wanted/sub/b.json", "wanted/sub/deeper/c", "wanted/with space/d é.txt"];
const others = Array.from({ length: 2000 }, (_, i) => `other/${String(i).padStart(5, "0")}/value.bin`);
const all = [...others, ...wanted, "wantedx/not-under-the-prefix"];
const bytesOf = (lines: string[]) => Buffer.byteLength(lines.map((k) => `${k}\n`).join(""));

describe("listing over HTTP against a server that only knows GET /{prefix}/ (Python anystore 1.x)", () => {
  it("a prefix listing asks GET /{prefix}/ once and moves only that prefix's keys", async () => {
    const server = await listingServer(all, "path");
    const store = createStore(`anystore+${server.url}/`);
    expect((await collectKeys(store.keys({ prefix: "wanted" }))).sort()).toEqual([...wanted].sort());
    expect(server.requests).toEqual(["GET /wanted/"]);
    // Exactly the keys under the prefix, each relative to it: nothing of the other 2,001 keys.
    expect(server.bytes).toBe(bytesOf(wanted.map((k) => k.slice("wanted/".length))));
  });

  it("a uri path, a child and a prefix with characters to escape all become one GET /{prefix}/", async () => {
    const server = await listingServer(all, "path");
    const store = createStore(`anystore+${server.url}/wanted`);
    expect((await collectKeys(store.keys())).sort()).toEqual(wanted.map((k) => k.slice(7)).sort());
    expect(await collectKeys(store.child("sub").keys({ prefix: "deeper" }))).toEqual(["deeper/c"]);
    expect(await collectKeys(store.keys({ prefix: "with space" }))).toEqual(["with space/d é.txt"]);
    expect(await collectKeys(store.keys({ prefix: "missing" }))).toEqual([]);
    expect(server.requests).toEqual([
      "GET /wanted/",
      "GET /wanted/sub/deeper/",
      "GET /wanted/with%20space/",
      "GET /wanted/missing/",
    ]);
  });

  it("globs and excludes filter on the client over the same single request", async () => {
    const server = await listingServer(all, "path");
    const store = createStore(`anystore+${server.url}`);
    const keys = await collectKeys(store.keys({ prefix: "wanted", glob: "**/*.json", excludePrefix: "wanted/x" }));
    expect(keys).toEqual(["wanted/sub/b.json"]);
    expect(server.requests).toEqual(["GET /wanted/"]);
  });

  it("an older server that answers GET /{prefix}/ with 404 is asked GET /?prefix= instead", async () => {
    const server = await listingServer(all, "query");
    const store = createStore(`anystore+${server.url}/wanted`);
    expect((await collectKeys(store.keys({ prefix: "sub" }))).sort()).toEqual(["sub/b.json", "sub/deeper/c"]);
    expect(server.requests).toEqual(["GET /wanted/sub/", "GET /?prefix=wanted%2Fsub"]);
    expect(server.bytes).toBe(bytesOf(["wanted/sub/b.json", "wanted/sub/deeper/c"]));
  });

  it("our own server answers the same request with the same keys, and still answers ?prefix=", async () => {
    const backing = createStore("memory://");
    for (const key of all) await backing.put(key, "v");
    const requests: string[] = [];
    const running = await serve(backing, { onError: () => {} });
    servers.push(running);
    const logging = (input: RequestInfo | URL, init?: RequestInit) => {
      requests.push(`${init?.method ?? "GET"} ${new URL(String(input)).pathname}${new URL(String(input)).search}`);
      return fetch(input, init);
    };
    const store = createStore(`anystore+${running.url}`, { fetch: logging });
    expect((await collectKeys(store.keys({ prefix: "wanted/sub" }))).sort()).toEqual([
      "wanted/sub/b.json",
      "wanted/sub/deeper/c",
    ]);
    expect(requests).toEqual(["GET /wanted/sub/"]);
    const old = await fetch(`${running.url}/?prefix=wanted/sub`);
    expect((await old.text()).split("\n").filter(Boolean).sort()).toEqual(["wanted/sub/b.json", "wanted/sub/deeper/c"]);
  });
});
