/**
 * The http driver against servers that go silent: a frozen server (one that accepts and never
 * answers, an `anystore serve` stopped with SIGSTOP) fails small calls with ConnectionError
 * within a few seconds at the default `timeout`, while a server busy on a long answer and
 * transfers that make progress are never cut. Bounds are loose: "fails within 15 s".
 */

import type { ChildProcess } from "node:child_process";
import { spawn } from "node:child_process";
import type { Server as HttpServer } from "node:http";
import { createServer as createHttpServer } from "node:http";
import type { AddressInfo, Server as NetServer, Socket } from "node:net";
import { createServer as createNetServer } from "node:net";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { RunningServer, Store } from "../../src/index.node.js";
import { createStore, serve } from "../../src/index.node.js";
import { collectKeys } from "../shared/contract.js";
import { exchange, rawRequest } from "./raw-http.js";
import { TMP } from "./tmp.js";

const BOUND = 15_000;
const children: ChildProcess[] = [];
const closers: Array<() => Promise<void>> = [];

afterAll(async () => {
  for (const child of children) {
    child.kill("SIGCONT");
    child.kill("SIGKILL");
  }
  await Promise.all(closers.map((close) => close()));
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** How long `work` takes to settle, and how it settled. */
async function timed<T>(work: Promise<T>): Promise<{ ms: number; error: unknown }> {
  const started = Date.now();
  try {
    await work;
    return { ms: Date.now() - started, error: undefined };
  } catch (error) {
    return { ms: Date.now() - started, error };
  }
}

const codeOf = (error: unknown) => (error as { code?: string } | undefined)?.code;

/** A TCP server that accepts connections and never says a word. */
async function mute(): Promise<string> {
  const sockets: Socket[] = [];
  const server: NetServer = createNetServer((socket) => void sockets.push(socket.on("error", () => {})));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  closers.push(() => {
    for (const s of sockets) s.destroy();
    return new Promise((resolve) => server.close(() => resolve()));
  });
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** `anystore serve` from source in a child process; resolves to its url once it listens. */
async function serveChild(dir: string, flags: string[] = []): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "src/cli/main.ts", "--store", dir, "serve", "--port", "0", ...flags],
    {
      cwd: process.cwd(),
      env: { ...process.env, ANYSTORE_TOKEN: "", DEBUG: "" },
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  children.push(child);
  let seen = "";
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${seen}`)), 30_000);
    child.stderr!.on("data", (chunk: Buffer) => {
      seen += chunk.toString();
      const found = / at (http:\/\/\S+) /.exec(seen)?.[1];
      if (found) {
        clearTimeout(timer);
        resolve(found);
      }
    });
    child.once("exit", (code) => reject(new Error(`serve exited with ${code}: ${seen}`)));
  });
  return { child, url };
}

/** The store with `name` taking `ms` longer (a server busy before it can answer). */
function slowed(store: Store, name: "checksum" | "put", ms: number): Store {
  return new Proxy(store, {
    get(target, prop) {
      const value = Reflect.get(target, prop) as unknown;
      if (typeof value !== "function") return value;
      if (prop !== name) return value.bind(target);
      return async (...args: unknown[]) => {
        const result = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        await sleep(ms);
        return result;
      };
    },
  });
}

async function start(store: Store): Promise<string> {
  const server: RunningServer = await serve(store);
  closers.push(() => server.close());
  return server.url;
}

describe("a silent server fails calls within seconds at the default timeout", () => {
  it("a server that accepts and never answers", async () => {
    const host = await mute();
    const remote = createStore(`anystore+http://${host}`);
    const plain = createStore(`http://${host}`);
    const calls = [
      remote.get("k"),
      remote.exists("k"),
      remote.put("k", "small"),
      remote.delete("k"),
      remote.checksum("k"),
      collectKeys(remote.keys()),
      plain.get("k"),
      (async () => {
        const writer = (await remote.open("k", "w")).getWriter();
        await writer.write(new Uint8Array(1024));
        await writer.close();
      })(),
    ];
    const results = await Promise.all(calls.map((call) => timed(call)));
    for (const { ms, error } of results) {
      expect(codeOf(error)).toBe("CONNECTION");
      expect(ms).toBeLessThan(BOUND);
    }
  }, 60_000);

  it("a stopped anystore serve (SIGSTOP): small calls and a download in progress fail, and it works again after SIGCONT", async () => {
    const dir = join(TMP, `silence-${process.pid}`);
    const { child, url } = await serveChild(dir);
    const remote = createStore(`anystore+${url}`);
    await remote.put("small", "v");
    await remote.put("big", new Uint8Array(64 * 2 ** 20));
    const reader = (await remote.open("big", "r")).getReader();
    await reader.read();
    child.kill("SIGSTOP");
    try {
      const results = await Promise.all([
        timed(remote.get("small")),
        timed(remote.put("other", "w")),
        timed(remote.info("small")),
        timed(
          (async () => {
            for (;;) if ((await reader.read()).done) return;
          })(),
        ),
      ]);
      for (const { ms, error } of results) {
        expect(codeOf(error)).toBe("CONNECTION");
        expect(ms).toBeLessThan(BOUND);
      }
    } finally {
      child.kill("SIGCONT");
    }
    expect(await remote.get("small")).toBe("v");
  }, 90_000);
});

describe("a busy server and moving transfers are never cut", () => {
  it("waits for a checksum the server takes longer than the timeout to compute", async () => {
    const store = createStore("memory://");
    await store.put("k", "abc");
    const url = await start(slowed(store, "checksum", 7000));
    const remote = createStore(`anystore+${url}`, { timeout: 3000 });
    expect(await remote.checksum("k", "md5")).toBe("900150983cd24fb0d6963f7d28e17f72");
  }, 30_000);

  it("waits for the server to store a large upload after its last byte", async () => {
    const store = createStore("memory://");
    const url = await start(slowed(store, "put", 7000));
    const remote = createStore(`anystore+${url}`, { timeout: 3000 });
    await remote.put("big", new Uint8Array(3 * 2 ** 20).fill(1));
    expect((await store.info("big")).size).toBe(3 * 2 ** 20);
  }, 30_000);

  it("reads a download that trickles for longer than the timeout, chunk by chunk", async () => {
    const chunks = 10;
    const server: HttpServer = createHttpServer(async (_req, res) => {
      res.writeHead(200, { "content-type": "application/octet-stream" });
      for (let i = 0; i < chunks; i++) {
        res.write(new Uint8Array(1000).fill(i));
        await sleep(600);
      }
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    closers.push(() => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    });
    const store = createStore(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, { timeout: 1000 });
    const value = (await store.get("slow", { serialization: "raw" })) as Uint8Array;
    expect(value.byteLength).toBe(chunks * 1000);
  }, 30_000);
});

describe("anystore serve flags", () => {
  it("--max-connections and --headers-timeout apply; a bad value is refused", async () => {
    const dir = join(TMP, `serve-flags-${process.pid}`);
    const { url } = await serveChild(dir, [
      "--max-connections",
      "1",
      "--headers-timeout",
      "500",
      "--keep-alive-timeout",
      "60000",
    ]);
    const port = Number(new URL(url).port);
    // The one connection allowed says nothing: cut within the headers deadline (checked every 5 s).
    const holder = exchange(port, [], { untilClose: true, waitMs: BOUND });
    await sleep(300);
    const refused = await exchange(port, rawRequest("GET", "/k"), { waitMs: 10_000 });
    expect([refused.closed, refused.status]).toEqual([true, undefined]);
    const held = await holder;
    expect(held.closed).toBe(true);
    expect(held.ms).toBeLessThan(BOUND);
    expect((await exchange(port, rawRequest("GET", "/missing"))).status).toBe(404);
    const bad = spawn(
      process.execPath,
      ["--import", "tsx", "src/cli/main.ts", "--store", dir, "serve", "--max-connections", "-1"],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    let stderr = "";
    bad.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise((resolve) => bad.once("exit", resolve));
    expect(code).toBe(1);
    expect(stderr).toContain("--max-connections must be a number >= 0");
  }, 60_000);
});
