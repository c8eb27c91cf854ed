/**
 * `serve` against slow, idle and numerous clients: the deadlines cut header tricklers, body
 * tricklers, idle and non-reading sockets, while slow-but-moving uploads and a server busy on
 * a long answer are left alone; over the connection cap new sockets are refused and the others
 * still answered; bodies have a default size limit. Deadlines here are tiny; the bounds the tests
 * check are loose (a few seconds), so a loaded machine does not fail them.
 */

import type { Socket } from "node:net";
import { connect } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import type { RunningServer, ServeOptions, Store } from "../../src/index.node.js";
import { createHandler, createStore, serve } from "../../src/index.node.js";
import { exchange, rawRequest } from "./raw-http.js";

const servers: RunningServer[] = [];
const sockets: Socket[] = [];

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await Promise.all(servers.map((s) => s.close()));
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Tiny deadlines, checked often. */
const TIGHT: ServeOptions = {
  headersTimeout: 500,
  requestTimeout: 20_000,
  bodyTimeout: 300,
  minBodyRate: 100,
  idleTimeout: 300,
  keepAliveTimeout: 300,
  connectionsCheckingInterval: 100,
};

async function start(store: Store, options: ServeOptions): Promise<number> {
  const server = await serve(store, options);
  servers.push(server);
  return Number(new URL(server.url).port);
}

/**
 * The store with one method waiting `ms` before it starts: `put` as a slow backend applying
 * backpressure (nothing read meanwhile), `info` as a server busy before it can answer.
 */
function slowed(store: Store, method: "put" | "info", ms: number): Store {
  return new Proxy(store, {
    get(target, name) {
      if (name === method) {
        return async (...args: unknown[]) => {
          await sleep(ms);
          return (target[method] as (...a: unknown[]) => Promise<unknown>)(...args);
        };
      }
      const value = Reflect.get(target, name) as unknown;
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** A socket that has been accepted and answered once, kept open (keep-alive). */
function heldSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => socket.write(rawRequest("GET", "/k")));
    sockets.push(socket);
    socket.once("data", () => resolve(socket));
    socket.once("error", reject);
  });
}

describe("serve deadlines", () => {
  it("cuts a client that trickles its headers, and one that sends nothing", async () => {
    const store = createStore("memory://");
    await store.put("k", "v");
    const port = await start(store, TIGHT);
    const trickle = Array.from({ length: 200 }, (_, i) => (i === 0 ? "GET /k HTTP/1.1\r\n" : `X-${i}: ${i}\r\n`));
    const [trickler, silent, normal] = await Promise.all([
      exchange(port, trickle, { gapMs: 50, untilClose: true, waitMs: 15_000 }),
      exchange(port, [], { untilClose: true, waitMs: 15_000 }),
      exchange(port, rawRequest("GET", "/k")),
    ]);
    expect([trickler.closed, trickler.status ?? 408]).toEqual([true, 408]);
    expect(trickler.ms).toBeLessThan(5000);
    expect(silent.closed).toBe(true);
    expect(silent.ms).toBeLessThan(5000);
    expect(normal.status).toBe(200);
  });

  it("cuts a body that trickles below minBodyRate and keeps the old value; a slow body above it goes through", async () => {
    const store = createStore("memory://");
    await store.put("k", "old");
    const port = await start(store, TIGHT);
    // 1 byte per 100 ms is 10 B/s, under 100 B/s: cut within a window or two.
    const head = rawRequest("PUT", "/k", ["Content-Length: 1000"]);
    const trickler = await exchange(port, [head, ...Array.from({ length: 100 }, () => "x")], {
      gapMs: 100,
      untilClose: true,
      waitMs: 15_000,
    });
    expect(trickler.closed).toBe(true);
    expect(trickler.ms).toBeLessThan(5000);
    expect(trickler.status === undefined || trickler.status >= 400).toBe(true);
    expect(await store.get("k")).toBe("old");
    // 50 bytes per 100 ms is 500 B/s, over the rate, for 2 s: many windows, never cut.
    const steady = await exchange(
      port,
      [rawRequest("PUT", "/steady", ["Content-Length: 1000"]), ...Array.from({ length: 20 }, () => "y".repeat(50))],
      { gapMs: 100 },
    );
    expect(steady.status).toBe(201);
    expect(await store.get("steady")).toBe("y".repeat(1000));
  });

  it("does not count the server's own backpressure against the client", async () => {
    const store = createStore("memory://");
    const port = await start(slowed(store, "put", 1500), TIGHT);
    const body = "z".repeat(2 * 2 ** 20); // more than the server buffers before the store reads
    const reply = await exchange(port, rawRequest("PUT", "/big", [], body), { waitMs: 20_000 });
    expect(reply.status).toBe(201);
    expect((await store.info("big")).size).toBe(body.length);
  });

  it("closes idle keep-alive connections after keepAliveTimeout, whatever idleTimeout says", async () => {
    const store = createStore("memory://");
    await store.put("k", "v");
    const port = await start(store, { ...TIGHT, idleTimeout: 60_000 });
    const reply = await exchange(port, rawRequest("GET", "/k"), { untilClose: true, waitMs: 15_000 });
    expect([reply.status, reply.closed]).toEqual([200, true]);
    expect(reply.ms).toBeLessThan(5000);
  });

  it("cuts a client that leaves a response unread, but waits for a server busy on its answer", async () => {
    const store = createStore("memory://");
    const size = 32 * 2 ** 20;
    await store.put("big", new Uint8Array(size));
    await store.put("k", "v");
    const port = await start(slowed(store, "info", 1500), TIGHT);
    // Busy for 1.5 s before the first byte, well past idleTimeout: still answered.
    const busy = await exchange(port, rawRequest("GET", "/k"), { waitMs: 15_000 });
    expect(busy.status).toBe(200);
    // A reader that stops: the server's writes stall and it cuts the socket.
    const received = await new Promise<number>((resolve) => {
      let bytes = 0;
      const socket = connect(port, "127.0.0.1", () => socket.write(rawRequest("GET", "/big")));
      sockets.push(socket);
      socket.on("error", () => {});
      socket.once("data", (chunk: Buffer) => {
        bytes += chunk.byteLength;
        socket.pause();
        setTimeout(() => {
          socket.on("data", (more: Buffer) => (bytes += more.byteLength));
          socket.on("close", () => resolve(bytes));
          socket.resume();
        }, 4000);
      });
    });
    expect(received).toBeLessThan(size);
  }, 30_000);
});

describe("serve connection cap", () => {
  it("refuses connections over maxConnections and keeps answering the others", async () => {
    const store = createStore("memory://");
    await store.put("k", "v");
    const port = await start(store, { maxConnections: 3, keepAliveTimeout: 30_000 });
    const held = await Promise.all([heldSocket(port), heldSocket(port), heldSocket(port)]);
    const refused = await exchange(port, rawRequest("GET", "/k"), { waitMs: 10_000 });
    expect([refused.closed, refused.status]).toEqual([true, undefined]);
    // The held connections still work.
    const again = await new Promise<string>((resolve) => {
      let text = "";
      held[0]!.on("data", (chunk: Buffer) => {
        text += chunk.toString();
        if (text.endsWith("\r\n\r\nv")) resolve(text);
      });
      held[0]!.write(rawRequest("GET", "/k"));
    });
    expect(again.startsWith("HTTP/1.1 200")).toBe(true);
    // One closes: a new connection gets in.
    held[1]!.destroy();
    await sleep(200);
    expect((await exchange(port, rawRequest("GET", "/k"))).status).toBe(200);
  });
});

describe("refused uploads", () => {
  it("reads and drops the rest of an upload refused early, and the connection serves the next request", async () => {
    const port = await start(createStore("memory://"), { token: "t" });
    const size = 16 * 2 ** 20;
    const chunk = Buffer.alloc(2 ** 20, 1);
    const answers = await new Promise<string>((resolve) => {
      let text = "";
      const socket = connect(port, "127.0.0.1", async () => {
        socket.write(rawRequest("PUT", "/k", [`Content-Length: ${size}`]));
        for (let sent = 0; sent < size && !socket.destroyed; sent += chunk.byteLength) {
          if (!socket.write(chunk)) await new Promise((r) => socket.once("drain", r));
        }
        // The whole body went out: the server read it. The same connection asks again.
        socket.write(rawRequest("GET", "/k"));
      });
      sockets.push(socket);
      socket.on("data", (data: Buffer) => {
        text += data.toString("latin1");
        if (text.split("HTTP/1.1 401").length === 3) resolve(text);
      });
      socket.on("error", () => {});
      socket.on("close", () => resolve(text));
    });
    expect(answers.split("HTTP/1.1 401").length - 1).toBe(2);
  }, 30_000);
});

describe("default body limit", () => {
  it("refuses a body declared over 1 GiB with 413, in serve and createHandler", async () => {
    const store = createStore("memory://");
    const port = await start(store, {});
    const declared = await exchange(port, rawRequest("PUT", "/huge", [`Content-Length: ${2 ** 30 + 1}`]), {
      waitMs: 10_000,
    });
    expect(declared.status).toBe(413);
    const handler = createHandler(store);
    const r = await handler(
      new Request("http://x/huge", { method: "PUT", headers: { "content-length": String(2 ** 30 + 1) }, body: "x" }),
    );
    expect(r.status).toBe(413);
    expect(await store.exists("huge")).toBe(false);
  });
});
