/**
 * The s3 driver against s3rver on loopback (its own process: see s3rver-server.mjs), one bucket
 * and prefix per store. Faults (silent, failing, refusing endpoints) are small real HTTP servers.
 */
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { Server } from "node:net";
import { createServer as createTcpServer } from "node:net";
import { join } from "node:path";
import { AwsClient } from "aws4fetch";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { s3Driver } from "../../src/drivers/browser/s3/s3.js";
import { xmlDecode } from "../../src/drivers/browser/s3/xml.js";
import type { StoreOptions } from "../../src/index.node.js";
import { createStore } from "../../src/index.node.js";
import { collectKeys, contractSuite, readAll, rejectsWith, sleep, text, utf8 } from "../shared/contract.js";
import type { S3rverProcess } from "./s3rver.js";
import { startS3rver } from "./s3rver.js";
import { TMP } from "./tmp.js";

const MiB = 1024 * 1024;
const credentials = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };
const raw = new AwsClient({ ...credentials, service: "s3", region: "us-east-1", retries: 0 });
const dir = join(TMP, `s3rver-${process.pid}-${Date.now()}`);
let server: S3rverProcess | undefined;
let endpoint = "";
let counter = 0;

/** A fresh bucket (path-style names are lowercase, 3-63 characters). */
async function newBucket(): Promise<string> {
  const bucket = `b${process.pid}-${++counter}`;
  const response = await raw.fetch(`${endpoint}/${bucket}`, { method: "PUT" });
  expect(response.status).toBe(200);
  return bucket;
}

async function makeStore(options: StoreOptions = {}) {
  const bucket = await newBucket();
  const root = `pre${counter}/`;
  return { bucket, root, store: createStore(`s3://${bucket}/${root}`, { endpoint, ...credentials, ...options }) };
}

/** Every object key in a bucket, via a raw ListObjectsV2 (reserved ones included). */
async function rawKeys(bucket: string, prefix = ""): Promise<string[]> {
  const response = await raw.fetch(`${endpoint}/${bucket}?list-type=2&prefix=${encodeURIComponent(prefix)}`);
  const xml = await response.text();
  return [...xml.matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => xmlDecode(m[1]!)).sort();
}

/** Multipart uploads in progress, via ListMultipartUploads. */
async function uploadsInProgress(bucket: string): Promise<number> {
  const response = await raw.fetch(`${endpoint}/${bucket}?uploads`);
  expect(response.status).toBe(200);
  return [...(await response.text()).matchAll(/<Upload>/g)].length;
}

/** A stream of `size` bytes in 1 MiB chunks with a known pattern; `failAt` errors it there. */
function pattern(size: number, failAt = Infinity): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent >= failAt) return controller.error(new Error("source failed"));
      if (sent >= size) return controller.close();
      const n = Math.min(MiB, size - sent);
      controller.enqueue(new Uint8Array(n).map((_, i) => (sent + i) % 251));
      sent += n;
    },
  });
}

function sha256OfPattern(size: number): string {
  const hash = createHash("sha256");
  for (let sent = 0; sent < size; sent += MiB)
    hash.update(new Uint8Array(Math.min(MiB, size - sent)).map((_, i) => (sent + i) % 251));
  return hash.digest("hex");
}

beforeAll(async () => {
  mkdirSync(dir, { recursive: true });
  server = await startS3rver(dir);
  endpoint = server.endpoint;
});

afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

afterEach(() => {
  vi.restoreAllMocks();
});

contractSuite({
  name: "s3 (s3rver)",
  make: async (options) => (await makeStore(options)).store,
  reopen: (store) => createStore(store.uri, { endpoint, ...credentials }),
});

describe("s3 driver", () => {
  it("watch polls one listing per interval, with no request per key", async () => {
    const { store } = await makeStore({ watchInterval: 50 });
    await store.putMany(Array.from({ length: 20 }, (_, i) => [`k${i}`, i] as [string, number]));
    const events = store.watch();
    await events.ready;
    const spy = vi.spyOn(globalThis, "fetch");
    try {
      await store.put("k3", "changed");
      let result = await events.next();
      while (!result.done && (result.value.type === "resync" || result.value.key !== "k3"))
        result = await events.next();
      expect(result.value).toEqual({ type: "put", key: "k3" });
      const methods = spy.mock.calls.map(([input, init]) =>
        input instanceof Request ? input.method : (init?.method ?? "GET"),
      );
      expect(methods.filter((m) => m === "HEAD")).toEqual([]);
    } finally {
      spy.mockRestore();
      await events.return?.();
    }
  });

  it("keeps Python anystore's layout: key a/b.txt is the object PREFIX/a/b.txt, any characters", async () => {
    const { bucket, root, store } = await makeStore();
    const keys = [
      "a/b.txt",
      "sp ace/plus+sign",
      "per%25cent/100%",
      "unicodé/ü€😀",
      "(parens)!*'~.txt",
      "q?uery#hash&amp=1",
    ];
    for (const key of keys) await store.put(key, key);
    expect(await rawKeys(bucket)).toEqual(keys.map((k) => root + k).sort());
    for (const key of keys) expect(await store.get(key)).toBe(key);
    expect(await collectKeys(store.keys())).toEqual([...keys].sort());
    const direct = await raw.fetch(`${endpoint}/${bucket}/${root}a/b.txt`);
    expect(await direct.text()).toBe("a/b.txt");
  });

  it("a streamed write of more than 3 parts is a multipart upload; the bytes come back", async () => {
    const { bucket, store } = await makeStore({ partSize: 5 * MiB });
    const size = 21 * MiB + 123;
    const spy = vi.spyOn(globalThis, "fetch");
    await store.put("big.bin", pattern(size));
    const urls = spy.mock.calls.map(([input, init]) => `${init?.method ?? "GET"} ${String(input)}`);
    expect(urls.filter((u) => u.startsWith("POST") && u.endsWith("?uploads"))).toHaveLength(1);
    expect(urls.filter((u) => u.startsWith("PUT") && u.includes("partNumber="))).toHaveLength(5);
    expect(urls.filter((u) => u.startsWith("POST") && u.includes("uploadId="))).toHaveLength(1);
    expect((await store.info("big.bin")).size).toBe(size);
    expect(await store.checksum("big.bin")).toBe(sha256OfPattern(size));
    expect(await uploadsInProgress(bucket)).toBe(0);
    const middle = await readAll(await store.open("big.bin", "r", { start: 5 * MiB - 2, end: 5 * MiB + 2 }));
    expect([...middle]).toEqual([0, 1, 2, 3].map((i) => (5 * MiB - 2 + i) % 251));
  });

  it("a small streamed write is a single PUT", async () => {
    const { store } = await makeStore();
    const spy = vi.spyOn(globalThis, "fetch");
    await store.put("small.bin", pattern(1000));
    expect(spy.mock.calls.some(([input]) => String(input).includes("uploads"))).toBe(false);
    expect((await store.info("small.bin")).size).toBe(1000);
  });

  it("abort() and a failing source abort the multipart upload: no parts left, old value kept", async () => {
    const { bucket, store } = await makeStore({ partSize: 5 * MiB });
    await store.put("v", "old");
    const writer = (await store.open("v", "w")).getWriter();
    for (let i = 0; i < 11; i++) await writer.write(new Uint8Array(MiB));
    expect(await uploadsInProgress(bucket)).toBe(1);
    await writer.abort(new Error("stop"));
    expect(await uploadsInProgress(bucket)).toBe(0);
    expect(await store.get("v")).toBe("old");

    await expect(store.put("v", pattern(16 * MiB, 12 * MiB))).rejects.toThrow();
    expect(await uploadsInProgress(bucket)).toBe(0);
    expect(await store.get("v")).toBe("old");
    expect(
      readdirSync(join(dir, bucket)).includes("._S3rver_uploads")
        ? readdirSync(join(dir, bucket, "._S3rver_uploads"))
        : [],
    ).toEqual([]);
  });

  it("store.url presigns a GET that plain fetch can download; child stores include their prefix", async () => {
    const { store } = await makeStore();
    await store.put("docs/report.txt", "private bytes");
    const url = await store.url("docs/report.txt", { expires: 60 });
    expect(url).toContain("X-Amz-Signature=");
    expect(url).toContain("X-Amz-Expires=60");
    const response = await fetch(url);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("private bytes");
    expect(await (await fetch(await store.child("docs").url("report.txt"))).text()).toBe("private bytes");
    await rejectsWith(store.url("docs/report.txt", { expires: 0 }), "INVALID_ARGUMENT");
    await rejectsWith(store.url("docs/report.txt", { expires: 8 * 86_400 }), "INVALID_ARGUMENT");
  });

  it("deleteMany uses DeleteObjects in batches of 1,000 with a correct Content-MD5", async () => {
    const { bucket, root, store } = await makeStore();
    const keys = Array.from({ length: 1001 }, (_, i) => `d/${i}`);
    await store.putMany(keys.map((k) => [k, 1]));
    await store.put("keep", 1);
    const spy = vi.spyOn(globalThis, "fetch");
    await store.deleteMany([...keys, "never-existed"]);
    const posts = spy.mock.calls.filter(
      ([input, init]) => init?.method === "POST" && String(input).endsWith("?delete"),
    );
    expect(posts).toHaveLength(2);
    for (const [, init] of posts) {
      const body = init!.body as Uint8Array;
      const headers = new Headers(init!.headers);
      expect(headers.get("content-md5")).toBe(createHash("md5").update(body).digest("base64"));
    }
    expect(await rawKeys(bucket)).toEqual([`${root}keep`]);
  });

  it("stores the Content-Type guessed from the key, or the one given", async () => {
    const { bucket, root, store } = await makeStore();
    await store.put("t.csv", "a,b");
    const head = await raw.fetch(`${endpoint}/${bucket}/${root}t.csv`, { method: "HEAD" });
    expect(head.headers.get("content-type")).toBe("text/csv");
    const writer = (await store.open("page", "w", { contentType: "text/html" })).getWriter();
    await writer.write(utf8("<p>hi</p>"));
    await writer.close();
    expect((await store.info("page")).contentType).toBe("text/html");
    expect((await store.info("t.csv")).etag).toMatch(/^"[0-9a-f]{32}"$/);
  });

  it("ttl: expiry is object metadata plus a due marker; reads delete expired values; sweep reclaims the rest", async () => {
    const { bucket, root, store } = await makeStore();
    await store.put("a", 1, { ttl: 1 });
    await store.put("b", 2, { ttl: 1 });
    await store.put("c", 3, { ttl: 3600 });
    const head = await raw.fetch(`${endpoint}/${bucket}/${root}a`, { method: "HEAD" });
    expect(Number(head.headers.get("x-amz-meta-anystore-expires"))).toBeGreaterThan(Date.now());
    expect((await rawKeys(bucket, `${root}.anystore/ttl/`)).length).toBe(3);
    expect(await collectKeys(store.keys())).toEqual(["a", "b", "c"]);
    await sleep(1200);
    expect(await store.exists("a")).toBe(false);
    expect(await rawKeys(bucket, `${root}a`)).toEqual([]);
    expect(await store.sweep()).toBe(1);
    const left = await rawKeys(bucket);
    expect(left.filter((k) => !k.includes(".anystore"))).toEqual([`${root}c`]);
    expect(left.filter((k) => k.includes(".anystore"))).toEqual([
      expect.stringMatching(/\/ttl\/\d+\/c\/\.anystore-\d+$/),
    ]);
    expect(await collectKeys(store.keys())).toEqual(["c"]);
  });

  it("ifNotExists sends If-None-Match: * after checking; the capability follows conditionalWrites", async () => {
    const plain = (await makeStore()).store;
    expect((await plain.capabilities()).ifNotExists).toBe(false);
    const { store } = await makeStore({ conditionalWrites: true });
    expect((await store.capabilities()).ifNotExists).toBe(true);
    const spy = vi.spyOn(globalThis, "fetch");
    await store.put("once", 1, { ifNotExists: true });
    const put = spy.mock.calls.find(([, init]) => init?.method === "PUT");
    expect(new Headers(put![1]!.headers).get("if-none-match")).toBe("*");
    await rejectsWith(store.put("once", 2, { ifNotExists: true }), "ALREADY_EXISTS");
    expect(await store.get("once")).toBe(1);
  });

  it("conditional creates race to one winner: small PUTs and multipart uploads, losers leave no upload or ttl marker", {
    timeout: 120_000,
  }, async () => {
    const { bucket, root, store } = await makeStore({ conditionalWrites: true, partSize: 5 * MiB });
    const outcome = (p: Promise<void>) =>
      p.then(
        () => "won",
        (error) => (error as { code?: string }).code ?? String(error),
      );
    // Distinct ttls, so each racer's marker is its own (a marker shared with the winner stays).
    const small = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        outcome(store.put("small", utf8(`racer ${i}`), { ifNotExists: true, ttl: 3600 + i })),
      ),
    );
    const large = await Promise.all(
      Array.from({ length: 3 }, (_, i) =>
        outcome(store.put("large", pattern(6 * MiB + i), { ifNotExists: true, ttl: 7200 + i })),
      ),
    );
    for (const outcomes of [small, large]) {
      expect(outcomes.filter((o) => o !== "won" && o !== "ALREADY_EXISTS")).toEqual([]);
      expect(outcomes.filter((o) => o === "won")).toHaveLength(1);
    }
    expect(await store.get("small")).toBe(`racer ${small.indexOf("won")}`);
    expect((await store.info("large")).size).toBe(6 * MiB + large.indexOf("won"));
    expect(await uploadsInProgress(bucket)).toBe(0);
    // One marker per key: the winner's.
    const markers = (await rawKeys(bucket, `${root}.anystore/ttl/`)).map(
      (k) => /\/(small|large)\/\.anystore-\d+$/.exec(k)?.[1],
    );
    expect(markers.sort()).toEqual(["large", "small"]);
  });

  it("lists page by page with continuation tokens", async () => {
    const { store } = await makeStore({ pageSize: 3 });
    const keys = Array.from({ length: 10 }, (_, i) => `p/${i}`);
    await store.putMany(keys.map((k) => [k, 1]));
    const spy = vi.spyOn(globalThis, "fetch");
    expect(await collectKeys(store.keys({ prefix: "p" }))).toEqual(keys.sort());
    const lists = spy.mock.calls
      .map(([input]) => String(input))
      .filter((u) => u.includes("list-type=2") && u.includes("prefix=pre"));
    expect(lists.filter((u) => u.includes("continuation-token="))).toHaveLength(3);
  });

  it("takes endpoint, region and credentials from AWS_* environment variables", async () => {
    const bucket = await newBucket();
    const vars = {
      AWS_ENDPOINT_URL: endpoint,
      AWS_REGION: "eu-west-1",
      AWS_ACCESS_KEY_ID: "S3RVER",
      AWS_SECRET_ACCESS_KEY: "S3RVER",
      AWS_SESSION_TOKEN: "tok",
    };
    const saved = Object.fromEntries(Object.keys(vars).map((name) => [name, process.env[name]]));
    Object.assign(process.env, vars);
    try {
      const store = createStore(`s3://${bucket}`);
      const spy = vi.spyOn(globalThis, "fetch");
      await store.put("x", 1);
      const headers = new Headers(spy.mock.calls[0]![1]!.headers);
      expect(headers.get("authorization")).toContain("/eu-west-1/s3/aws4_request");
      expect(headers.get("x-amz-security-token")).toBe("tok");
      expect(await store.get("x")).toBe(1);
      expect(await rawKeys(bucket)).toEqual(["x"]);
    } finally {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });

  it("errors: refused or silent endpoints are ConnectionError in bounded time; 5xx and 403 are IO errors with the status", async () => {
    const closed = createTcpServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const closedPort = (closed.address() as { port: number }).port;
    await new Promise((resolve) => closed.close(resolve));
    await rejectsWith(
      createStore("s3://bucket", { endpoint: `http://127.0.0.1:${closedPort}`, ...credentials }).get("k"),
      "CONNECTION",
    );

    const silent = createTcpServer(() => {});
    const sockets: Array<{ destroy(): void }> = [];
    silent.on("connection", (s) => sockets.push(s));
    let hits = 0;
    const answering = createServer((req, res) => {
      hits++;
      res.writeHead(req.url!.includes("forbidden") ? 403 : 503, { "content-type": "application/xml" });
      res.end("<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>");
    });
    const listen = (s: Server) =>
      new Promise<number>((resolve) => s.listen(0, "127.0.0.1", () => resolve((s.address() as { port: number }).port)));
    try {
      const silentPort = await listen(silent);
      const started = Date.now();
      await rejectsWith(
        createStore("s3://bucket", { endpoint: `http://127.0.0.1:${silentPort}`, ...credentials, timeout: 300 }).get(
          "k",
        ),
        "CONNECTION",
      );
      expect(Date.now() - started).toBeLessThan(10_000);

      const port = await listen(answering as unknown as Server);
      const failing = createStore("s3://bucket", { endpoint: `http://127.0.0.1:${port}`, ...credentials, retries: 1 });
      const error = (await rejectsWith(failing.get("k"), "IO")) as { status: number; message: string };
      expect(error.status).toBe(503);
      expect(error.message).toContain("SlowDown");
      expect(hits).toBe(2);
      const denied = (await rejectsWith(failing.put("forbidden", 1), "IO")) as { status: number };
      expect(denied.status).toBe(403);
    } finally {
      for (const s of sockets) s.destroy();
      silent.close();
      answering.close();
    }
  });

  it("a missing key reads as null / NotFoundError, a missing bucket is an error", async () => {
    const { store } = await makeStore({ throwOnMissing: false });
    expect(await store.get("nope")).toBeNull();
    await rejectsWith(createStore("s3://no-such-bucket-here", { endpoint, ...credentials }).get("k"), "IO");
  });

  it("parses uris and rejects bad options", async () => {
    const bucket = await newBucket();
    const store = createStore(`s3://${bucket}/deep/er/`, { endpoint, ...credentials });
    await store.put("k", "v");
    expect(await rawKeys(bucket)).toEqual(["deep/er/k"]);
    expect(await text(await store.open("k"))).toBe("v");
    await rejectsWith(
      createStore(`s3://${bucket}`, { endpoint, ...credentials, partSize: MiB }).get("k"),
      "INVALID_ARGUMENT",
    );
    expect(() => s3Driver({ bucket, accessKeyId: "only-half" })).toThrow(/both/);
  });
});
