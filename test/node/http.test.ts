import { createHash } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import type { IncomingHttpHeaders, Server } from "node:http";
import { createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { memoryDriver } from "../../src/drivers/browser/memory.js";
import type { Driver, RunningServer, Store } from "../../src/index.node.js";
import { createHandler, createStore, isAnystoreError, serve } from "../../src/index.node.js";
import { collectKeys, contractSuite, rejectsWith, sleep, text, utf8 } from "../shared/contract.js";
import { TMP } from "./tmp.js";

const servers: Array<RunningServer | Server> = [];
let counter = 0;

async function start(store: Store, options: Parameters<typeof serve>[1] = {}): Promise<RunningServer> {
  const server = await serve(store, options);
  servers.push(server);
  return server;
}

afterAll(async () => {
  await Promise.all(
    servers.map((s) => {
      if ("url" in s) return s.close();
      s.closeAllConnections();
      return new Promise<void>((resolve) => s.close(() => resolve()));
    }),
  );
});

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * A request with the path sent exactly as written (fetch would normalize `..` away), and a
 * body sent in the given chunks (chunked transfer unless a content-length header is set).
 */
function raw(
  base: string,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  chunks: Uint8Array[] = [],
): Promise<Reply> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, method, path, headers, timeout: 5000 }, (res) => {
      const parts: Buffer[] = [];
      res.on("data", (c: Buffer) => parts.push(c));
      res.on("end", () =>
        resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(parts).toString() }),
      );
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    // An early answer (413) may close the socket while we still write: the answer is what counts.
    req.on("error", (error) => setTimeout(() => reject(error), 200));
    for (const chunk of chunks) req.write(chunk);
    req.end();
  });
}

/** A memory driver that records every key reaching it. */
function spying(): { driver: Driver; seen: string[] } {
  const inner = memoryDriver();
  const seen: string[] = [];
  const driver = { ...inner } as Driver;
  for (const name of ["get", "put", "delete", "has", "info", "read", "write"] as const) {
    const fn = inner[name] as ((key: string, ...rest: unknown[]) => unknown) | undefined;
    if (fn)
      (driver as unknown as Record<string, unknown>)[name] = (key: string, ...rest: unknown[]) => {
        seen.push(key);
        return fn(key, ...rest);
      };
  }
  return { driver, seen };
}

describe("contract", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await start(createStore("memory://"));
  });
  // Each store is a fresh key prefix (the uri path, as in Python anystore) on one served memory store.
  contractSuite({
    name: "anystore+http (node)",
    make: (options) => createStore(`anystore+${server.url}/run-${++counter}`, options),
    reopen: (store) => createStore(store.uri),
  });
});

describe("protocol (SPEC 8)", () => {
  let url: string;
  let store: Store;
  const auth = { authorization: "Bearer t0ken" };
  beforeAll(async () => {
    store = createStore("memory://");
    url = (await start(store, { token: "t0ken", maxBodyBytes: 1000 })).url;
    await store.put("abc.txt", "abcdef");
    await store.put("d/x.json", { a: 1 });
    await store.put("d/e/y.txt", "y");
    await store.put("dx", "z");
  });

  it("GET /key streams the value with metadata headers", async () => {
    const r = await raw(url, "GET", "/abc.txt", auth);
    expect(r.status).toBe(200);
    expect(r.body).toBe("abcdef");
    expect(r.headers["content-type"]).toBe("text/plain");
    expect(r.headers["content-length"]).toBe("6");
    expect(r.headers["accept-ranges"]).toBe("bytes");
    expect(r.headers.etag).toMatch(/^(W\/)?".+"$/);
    expect(new Date(r.headers["last-modified"]!).getTime()).toBeGreaterThan(0);
    expect(r.headers).toMatchObject({
      "x-anystore-key": "abc.txt",
      "x-anystore-name": "abc.txt",
      "x-anystore-size": "6",
      "x-anystore-store": "memory://",
      "x-anystore-mimetype": "text/plain",
    });
    expect(new Date(r.headers["x-anystore-created-at"] as string).getTime()).toBeGreaterThan(0);
    expect(new Date(r.headers["x-anystore-updated-at"] as string).getTime()).toBeGreaterThan(0);
    const again = await raw(url, "GET", "/abc.txt", { ...auth, "if-none-match": r.headers.etag! });
    expect(again.status).toBe(304);
  });

  it("ranges: bytes=a-b, a-, -n give 206 with Content-Range; past the end is 416; malformed is 400", async () => {
    const get = (range: string) => raw(url, "GET", "/abc.txt", { ...auth, range });
    const cases: Array<[string, string, string]> = [
      ["bytes=1-3", "bcd", "bytes 1-3/6"],
      ["bytes=2-", "cdef", "bytes 2-5/6"],
      ["bytes=-2", "ef", "bytes 4-5/6"],
      ["bytes=4-100", "ef", "bytes 4-5/6"],
      ["bytes=-100", "abcdef", "bytes 0-5/6"],
    ];
    for (const [range, body, contentRange] of cases) {
      const r = await get(range);
      expect([range, r.status, r.body, r.headers["content-range"], r.headers["content-length"]]).toEqual([
        range,
        206,
        body,
        contentRange,
        String(body.length),
      ]);
    }
    for (const range of ["bytes=6-", "bytes=10-20", "bytes=-0"]) {
      const r = await get(range);
      expect([range, r.status, r.headers["content-range"]]).toEqual([range, 416, "bytes */6"]);
    }
    for (const range of ["bytes=abc", "bytes=3-1", "items=0-1", "bytes=0-1,3-4", "bytes=-"]) {
      expect([range, (await get(range)).status]).toEqual([range, 400]);
    }
  });

  it("GET / and GET /prefix/ list keys one per line; ?glob=, ?exclude_prefix=, ?prefix= (store-relative, as Python)", async () => {
    const lines = (r: Reply) => r.body.split("\n").filter(Boolean).sort();
    const all = await raw(url, "GET", "/", auth);
    expect(all.status).toBe(200);
    expect(all.headers["content-type"]).toMatch(/^text\/plain/);
    expect(all.body.endsWith("\n")).toBe(true);
    expect(lines(all)).toEqual(["abc.txt", "d/e/y.txt", "d/x.json", "dx"]);
    expect(lines(await raw(url, "GET", "/d/", auth))).toEqual(["e/y.txt", "x.json"]);
    expect(lines(await raw(url, "GET", "/?glob=**/*.txt", auth))).toEqual(["abc.txt", "d/e/y.txt"]);
    expect(lines(await raw(url, "GET", "/?exclude_prefix=d", auth))).toEqual(["abc.txt"]);
    expect(lines(await raw(url, "GET", "/?prefix=d", auth))).toEqual(["d/e/y.txt", "d/x.json"]);
    expect(lines(await raw(url, "GET", "/nothing/", auth))).toEqual([]);
    expect((await raw(url, "PUT", "/d/", auth)).status).toBe(405);
  });

  it("HEAD gives the same headers, no body; ?checksum=true&algorithm= adds x-anystore-checksum", async () => {
    const head = await raw(url, "HEAD", "/abc.txt", auth);
    expect(head.status).toBe(200);
    expect(head.body).toBe("");
    expect(head.headers).toMatchObject({ "content-length": "6", "x-anystore-size": "6", "accept-ranges": "bytes" });
    expect(head.headers["x-anystore-checksum"]).toBeUndefined();
    const hex = (algorithm: string) => createHash(algorithm).update("abcdef").digest("hex");
    const sum = await raw(url, "HEAD", "/abc.txt?checksum=true", auth);
    expect(sum.headers["x-anystore-checksum"]).toBe(hex("sha1")); // Python's default
    for (const algorithm of ["md5", "sha256", "sha512"]) {
      const r = await raw(url, "HEAD", `/abc.txt?checksum=true&algorithm=${algorithm}`, auth);
      expect(r.headers["x-anystore-checksum"]).toBe(hex(algorithm));
    }
    expect((await raw(url, "HEAD", "/abc.txt?checksum=true&algorithm=crc", auth)).status).toBe(400);
    expect((await raw(url, "HEAD", "/missing", auth)).status).toBe(404);
    expect((await raw(url, "GET", "/missing", auth)).status).toBe(404);
  });

  it("PUT streams the body in (201); x-anystore-ttl expires it; If-None-Match: * gives 412 over an existing key", async () => {
    const put = (path: string, headers: Record<string, string>, ...chunks: string[]) =>
      raw(url, "PUT", path, { ...auth, ...headers }, chunks.map(utf8));
    expect((await put("/up/a.bin", {}, "one ", "two ", "three")).status).toBe(201);
    expect(await text(await store.open("up/a.bin"))).toBe("one two three");
    expect((await put("/up/a.bin", { "if-none-match": "*" }, "other")).status).toBe(412);
    expect(await text(await store.open("up/a.bin"))).toBe("one two three");
    expect((await put("/up/new.bin", { "if-none-match": "*" }, "new")).status).toBe(201);
    expect((await put("/up/ttl.bin", { "x-anystore-ttl": "1" }, "short")).status).toBe(201);
    expect((await put("/up/bad-ttl", { "x-anystore-ttl": "-1" }, "x")).status).toBe(400);
    expect(await store.exists("up/ttl.bin")).toBe(true);
    await sleep(1200);
    expect((await raw(url, "GET", "/up/ttl.bin", auth)).status).toBe(404);
    expect((await put("/up/typed", { "content-type": "image/png" }, "png")).status).toBe(201);
    expect((await store.info("up/typed")).contentType).toBe("image/png");
  });

  it("DELETE is 204, then 404; PATCH touches", async () => {
    await store.put("gone", 1);
    expect((await raw(url, "DELETE", "/gone", auth)).status).toBe(204);
    expect((await raw(url, "DELETE", "/gone", auth)).status).toBe(404);
    const before = Date.now();
    const touched = await raw(url, "PATCH", "/stamp", auth);
    expect(touched.status).toBe(200);
    expect(new Date(touched.body).getTime()).toBeGreaterThanOrEqual(before - 1000);
    expect(await store.exists("stamp")).toBe(true);
  });

  it("401 without the right bearer token, for every method", async () => {
    for (const method of ["GET", "HEAD", "PUT", "DELETE", "PATCH"]) {
      const missing = await raw(url, method, "/abc.txt");
      expect([method, missing.status]).toEqual([method, 401]);
      expect(missing.headers["www-authenticate"]).toMatch(/^Bearer/);
      expect((await raw(url, method, "/abc.txt", { authorization: "Bearer t0kem" })).status).toBe(401);
      expect((await raw(url, method, "/abc.txt", { authorization: "Bearer t0ken-longer" })).status).toBe(401);
    }
    expect((await raw(url, "GET", "/", { authorization: "Basic t0ken" })).status).toBe(401);
    expect(await store.get("abc.txt")).toBe("abcdef");
  });

  it("413 for bodies over maxBodyBytes, declared or streamed, leaving the old value", async () => {
    await store.put("limit", "old");
    const big = new Uint8Array(1500);
    const declared = await raw(url, "PUT", "/limit", { ...auth, "content-length": "1500" }, [big]);
    expect(declared.status).toBe(413);
    const chunked = await raw(url, "PUT", "/limit", auth, [big.subarray(0, 600), big.subarray(600)]);
    expect(chunked.status).toBe(413);
    expect(await store.get("limit")).toBe("old");
    expect((await raw(url, "PUT", "/limit", auth, [new Uint8Array(1000)])).status).toBe(201);
  });

  it("a client that goes away mid-upload leaves the old value", async () => {
    await store.put("abort-me", "old");
    const { hostname, port } = new URL(url);
    const req = request({ host: hostname, port, method: "PUT", path: "/abort-me", headers: auth });
    req.on("error", () => {});
    req.write(new Uint8Array(500));
    await sleep(100);
    req.destroy();
    await sleep(200);
    expect(await store.get("abort-me")).toBe("old");
    expect((await raw(url, "GET", "/abort-me", auth)).body).toBe("old");
  });

  it("refuses .. in every encoding with 400 before anything reaches the store", async () => {
    const { driver, seen } = spying();
    const served = await start(createStore({ driver }));
    const paths = [
      "/a/../b",
      "/../b",
      "/a/..",
      "/a/%2e%2e/b",
      "/a/%2E%2E/b",
      "/a/.%2e/b",
      "/a/%2e./b",
      "/%2e%2e/etc/passwd",
      "/a%2f..%2fb",
      "/a/..%2fb",
      "/a/%252e%252e/b",
      "/a/%25252e%25252e/b",
      "/a%252f..%252fb",
      "/a\\..\\b",
      "/a/..\\b",
      "/a/%5c..%5cb",
      "/a/%255c..%255cb",
      "/a/%zz",
      "/.anystore/ttl/x",
    ];
    for (const path of paths) {
      for (const method of ["GET", "HEAD", "PUT", "DELETE", "PATCH"]) {
        const r = await raw(served.url, method, path, {}, method === "PUT" ? [utf8("x")] : []);
        expect([path, method, r.status]).toEqual([path, method, 400]);
      }
      expect([path, (await raw(served.url, "GET", `${path}/`)).status]).toEqual([path, 400]);
    }
    expect(seen).toEqual([]);
  });

  it("readonly refuses every write with 403 and changes nothing", async () => {
    const ro = createStore("memory://");
    await ro.put("k", "v");
    const served = await start(ro, { readonly: true });
    for (const method of ["PUT", "DELETE", "PATCH"]) {
      for (const path of ["/k", "/new"]) {
        const r = await raw(served.url, method, path, {}, method === "PUT" ? [utf8("x")] : []);
        expect([method, path, r.status, r.headers["x-anystore-error"]]).toEqual([method, path, 403, "READ_ONLY"]);
      }
    }
    expect(await ro.get("k")).toBe("v");
    expect(await collectKeys(ro.keys())).toEqual(["k"]);
    const remote = createStore(`anystore+${served.url}`);
    expect(await remote.get("k")).toBe("v");
    await rejectsWith(remote.put("k", "w"), "READ_ONLY");
    await rejectsWith(remote.delete("k"), "READ_ONLY");
    // A streamed upload refused before its body is read still gets the typed answer, not a broken pipe.
    const writer = (await remote.open("streamed", "w")).getWriter();
    const chunk = new Uint8Array(2 ** 20);
    await rejectsWith(async () => {
      for (let i = 0; i < 16; i++) await writer.write(chunk);
      await writer.close();
    }, "READ_ONLY");
  });

  it("CORS only for configured origins, preflight included", async () => {
    const served = await start(createStore("memory://"), { cors: ["https://app.example"] });
    const ok = await raw(served.url, "OPTIONS", "/k", {
      origin: "https://app.example",
      "access-control-request-method": "PUT",
      "access-control-request-headers": "authorization, x-anystore-ttl",
    });
    expect(ok.status).toBe(204);
    expect(ok.headers["access-control-allow-origin"]).toBe("https://app.example");
    expect(ok.headers["access-control-allow-methods"]).toContain("PUT");
    expect(ok.headers["access-control-allow-headers"]).toContain("x-anystore-ttl");
    const evil = await raw(served.url, "OPTIONS", "/k", {
      origin: "https://evil.example",
      "access-control-request-method": "PUT",
    });
    expect(evil.status).toBe(403);
    expect(evil.headers["access-control-allow-origin"]).toBeUndefined();
    const get = await raw(served.url, "GET", "/", { origin: "https://app.example" });
    expect(get.headers["access-control-allow-origin"]).toBe("https://app.example");
    expect(get.headers["access-control-expose-headers"]).toContain("x-anystore-size");
    expect(
      (await raw(served.url, "GET", "/", { origin: "https://evil.example" })).headers["access-control-allow-origin"],
    ).toBeUndefined();
    expect(
      (await raw(url, "GET", "/", { ...auth, origin: "https://app.example" })).headers["access-control-allow-origin"],
    ).toBeUndefined();
  });

  it("maps errors to statuses with a one-line message and the code in x-anystore-error; 5xx details only reach onError", async () => {
    const failing: Driver = {
      name: "failing",
      capabilities: { ttl: true },
      get: async () => {
        throw new Error("disk on fire at /srv/secret/data\nsecret stack detail");
      },
      put: async () => {},
      delete: async () => {},
      info: async () => ({ size: 1 }),
      read: async () => {
        throw new Error("disk on fire at /srv/secret/data\nsecret stack detail");
      },
      list: async function* () {},
    };
    const logged: unknown[] = [];
    const handler = createHandler(createStore({ driver: failing }), { onError: (error) => logged.push(error) });
    const r = await handler(new Request("http://x/k"));
    expect([r.status, r.headers.get("x-anystore-error")]).toEqual([500, "IO"]);
    expect(await r.text()).toBe('AnystoreError: the store failed on key "k"\n');
    expect(logged.map((e) => String((e as Error).message))).toEqual([expect.stringContaining("/srv/secret/data")]);
    const invalid = await createHandler(createStore("memory://"))(new Request("http://x/.anystore/k"));
    expect([invalid.status, invalid.headers.get("x-anystore-error")]).toEqual([400, "INVALID_KEY"]);
  });

  it("never leaks credentials of the store uri", async () => {
    const handler = createHandler(createStore({ uri: "redis://user:secret@db.example/0", driver: memoryDriver() }));
    await handler(new Request("http://x/k", { method: "PUT", body: "v" }));
    const r = await handler(new Request("http://x/k", { method: "HEAD" }));
    expect(r.headers.get("x-anystore-store")).toBe("redis://db.example/0");
  });
});

describe("anystore+http driver", () => {
  it("sends the bearer token; without it the error is typed with status 401", async () => {
    const served = await start(createStore("memory://"), { token: "abc" });
    const good = createStore(`anystore+${served.url}`, { token: "abc" });
    await good.put("k", 1);
    expect(await good.get("k")).toBe(1);
    const bad = createStore(`anystore+${served.url}`);
    const error = (await rejectsWith(bad.get("k"), "IO")) as { status: number; name: string };
    expect([error.name, error.status]).toEqual(["HttpError", 401]);
  });

  it("fails with ConnectionError within the timeout when the server is gone or silent", async () => {
    const closed = await serve(createStore("memory://"));
    await closed.close();
    await rejectsWith(createStore(`anystore+${closed.url}`).get("k"), "CONNECTION");
    // Streamed uploads go through node:http (see src/drivers/node/streaming-fetch.ts): the same error.
    const writer = (await createStore(`anystore+${closed.url}`).open("k", "w")).getWriter();
    const pending = writer.write(new Uint8Array(1024)).then(() => writer.close());
    await rejectsWith(pending, "CONNECTION");
    // Accepts connections, never answers.
    const silent = createServer(() => {});
    servers.push(silent);
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const port = (silent.address() as AddressInfo).port;
    const started = Date.now();
    await rejectsWith(createStore(`anystore+http://127.0.0.1:${port}`, { timeout: 300 }).get("k"), "CONNECTION");
    const stalled = (
      await createStore(`anystore+http://127.0.0.1:${port}`, { timeout: 300 }).open("k", "w")
    ).getWriter();
    await rejectsWith(
      stalled.write(new Uint8Array(1024)).then(() => stalled.close()),
      "CONNECTION",
    );
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it("a streamed write reports upload progress and fails with 413 over the server's limit", async () => {
    const served = await start(createStore("memory://"), { maxBodyBytes: 3 * 2 ** 20 });
    const progress: Array<{ loaded: number; total?: number }> = [];
    const remote = createStore(`anystore+${served.url}`, {
      onUploadProgress: (p: { loaded: number; total?: number }) => progress.push(p),
    });
    const chunk = new Uint8Array(2 ** 20).fill(7);
    const writer = (await remote.open("big", "w")).getWriter();
    for (let i = 0; i < 2; i++) await writer.write(chunk);
    await writer.close();
    expect((await remote.info("big")).size).toBe(2 * 2 ** 20);
    expect(progress.map((p) => p.loaded)).toEqual([2 ** 20, 2 * 2 ** 20, 2 * 2 ** 20]);
    expect(progress.at(-1)!.total).toBe(2 * 2 ** 20);
    const tooBig = (await remote.open("big", "w")).getWriter();
    let error: unknown;
    try {
      for (let i = 0; i < 8; i++) await tooBig.write(chunk);
      await tooBig.close();
    } catch (e) {
      error = e;
    }
    expect(isAnystoreError(error) && (error as unknown as { status: number }).status).toBe(413);
    expect((await remote.info("big")).size).toBe(2 * 2 ** 20);
  });

  it("asks the server for checksums (one HEAD) and reads its metadata", async () => {
    const served = await start(createStore("memory://"));
    const requests: string[] = [];
    const spy: typeof fetch = (input, init) => {
      requests.push(`${init?.method ?? "GET"} ${String(input).slice(served.url.length)}`);
      return fetch(input, init);
    };
    const remote = createStore(`anystore+${served.url}`, { fetch: spy });
    await remote.put("f.txt", "abcdef");
    requests.length = 0;
    expect(await remote.checksum("f.txt", "md5")).toBe(createHash("md5").update("abcdef").digest("hex"));
    expect(await remote.checksum("f.txt")).toBe(createHash("sha256").update("abcdef").digest("hex"));
    expect(requests).toEqual(["HEAD /f.txt?checksum=true&algorithm=md5", "HEAD /f.txt?checksum=true&algorithm=sha256"]);
    await rejectsWith(remote.checksum("missing"), "NOT_FOUND");
    const info = await remote.info("f.txt");
    expect(info).toMatchObject({ key: "f.txt", name: "f.txt", size: 6, contentType: "text/plain" });
    expect(info.createdAt).toBeInstanceOf(Date);
  });
});

describe("plain http:// driver (read-only)", () => {
  let dir: string;
  let base: string;
  beforeAll(async () => {
    dir = join(TMP, `http-plain-${process.pid}`);
    await mkdir(join(dir, "docs"), { recursive: true });
    await writeFile(join(dir, "docs/a b.txt"), "hello world");
    await writeFile(join(dir, "data.json"), '{"n":1}');
    base = (await start(createStore(dir))).url;
  });

  it("GETs and HEADs base/key on a web server", async () => {
    const store = createStore(base);
    expect(await store.get("docs/a b.txt")).toBe("hello world");
    expect(await store.get("data.json")).toEqual({ n: 1 });
    expect(await store.exists("data.json")).toBe(true);
    expect(await store.exists("nope")).toBe(false);
    expect((await store.info("docs/a b.txt")).size).toBe(11);
    expect(await text(await store.open("docs/a b.txt", "r", { start: 6 }))).toBe("world");
    expect(await createStore(`${base}/docs`).get("a b.txt")).toBe("hello world");
    await rejectsWith(store.get("nope"), "NOT_FOUND");
  });

  it("refuses writes with UnsupportedError; listing an anystore server's text index too (not HTML: use anystore+http)", async () => {
    const store = createStore(base);
    expect(await store.capabilities()).toMatchObject({ write: false, list: true });
    await rejectsWith(store.put("x", 1), "UNSUPPORTED");
    await rejectsWith(store.delete("data.json"), "UNSUPPORTED");
    await rejectsWith(store.open("x", "w"), "UNSUPPORTED");
    await rejectsWith(collectKeys(store.keys()), "UNSUPPORTED");
  });

  it("reports no ttl, truthfully, and still reads with one request (no TTL emulation)", async () => {
    const requests: string[] = [];
    const spy: typeof fetch = (input, init) => {
      requests.push(`${init?.method ?? "GET"} ${String(input).slice(base.length)}`);
      return fetch(input, init);
    };
    const store = createStore(base, { fetch: spy });
    expect((await store.capabilities()).ttl).toBe(false);
    requests.length = 0;
    expect(await store.get("data.json")).toEqual({ n: 1 });
    expect(requests).toEqual(["GET /data.json"]);
  });

  it("cuts ranges itself from a server that ignores Range and HEAD", async () => {
    const plain = createServer((req, res) => {
      if (req.method !== "GET") return void res.writeHead(405).end();
      if (req.url === "/f") return void res.writeHead(200, { "content-type": "text/plain" }).end("abcdef");
      res.writeHead(404).end();
    });
    servers.push(plain);
    await new Promise<void>((resolve) => plain.listen(0, "127.0.0.1", resolve));
    const store = createStore(`http://127.0.0.1:${(plain.address() as AddressInfo).port}`);
    expect(await text(await store.open("f", "r", { start: 1, end: 4 }))).toBe("bcd");
    expect((await store.info("f")).size).toBe(6);
    expect(await store.exists("g")).toBe(false);
  });
});

describe("http driver timers", () => {
  const timeouts = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;

  it("leaves no idle-timeout timer behind after error responses", async () => {
    const failing = createServer((req, res) => {
      if (req.url?.startsWith("/?")) return void res.writeHead(503).end("list down");
      res.writeHead(req.url === "/teapot" ? 418 : 500, { "content-type": "text/plain" }).end("boom");
    });
    await new Promise<void>((resolve) => failing.listen(0, "127.0.0.1", resolve));
    try {
      const port = (failing.address() as AddressInfo).port;
      const before = timeouts();
      for (const uri of [`http://127.0.0.1:${port}`, `anystore+http://127.0.0.1:${port}`]) {
        const store = createStore(uri, { timeout: 600_000 });
        await rejectsWith(store.get("teapot"), "IO");
        await rejectsWith(store.info("x"), "IO");
        await rejectsWith(store.open("x", "r", { start: 0, end: 2 }), "IO");
        if (uri.startsWith("anystore")) await rejectsWith(collectKeys(store.keys()), "IO");
        await store.close();
      }
      expect(timeouts()).toBeLessThanOrEqual(before);
    } finally {
      failing.closeAllConnections();
      await new Promise((resolve) => failing.close(resolve));
    }
  });
});
