/**
 * Watching an anystore+http store (SPEC 11): the server relays its store's watch as server-sent
 * events, the client reads them with fetch, reconnects after the server comes back (resync), and
 * polls listings against a server that answers a watch with a listing (Python anystore's app).
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { httpDriver } from "../../src/drivers/browser/http/http.js";
import type { RunningServer, Store, WatchEvent } from "../../src/index.node.js";
import { createHandler, createStore, serve } from "../../src/index.node.js";
import { sleep } from "../shared/contract.js";
import { freePort } from "./redis-server.js";
import { feed, is, startProcess, writeElsewhere } from "./watch-feed.js";

const servers: RunningServer[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});
const start = async (store: Store, options: Parameters<typeof serve>[1] = {}) => {
  const server = await serve(store, options);
  servers.push(server);
  return server;
};

/** A store whose watches the test can count: one more while a watch runs on the server. */
function counted(store: Store): { store: Store; active: () => number } {
  let active = 0;
  const wrap = (inner: Store): Store =>
    new Proxy(inner, {
      get(target, name, receiver) {
        if (name === "watch")
          return (opts: Parameters<Store["watch"]>[0] = {}) => {
            active++;
            opts.signal?.addEventListener("abort", () => active--, { once: true });
            return target.watch(opts);
          };
        if (name === "child") return (prefix: string) => wrap(target.child(prefix));
        const value = Reflect.get(target, name, receiver);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  return { store: wrap(store), active: () => active };
}

const until = async (check: () => boolean | Promise<boolean>, ms = 5000) => {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(25)) if (await check()) return true;
  return check();
};

/** Reads a response body until `text` has come; returns everything read. */
async function readUntil(body: ReadableStream<Uint8Array>, text: string): Promise<string> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let seen = "";
  const deadline = setTimeout(() => reader.cancel(), 5000);
  try {
    while (!seen.includes(text)) {
      const { done, value } = await reader.read();
      if (done) break;
      seen += decoder.decode(value, { stream: true });
    }
  } finally {
    clearTimeout(deadline);
    reader.releaseLock();
  }
  return seen;
}

describe("anystore+http watch", () => {
  it("sees puts and deletes made through the server by another process, under its prefix only", async () => {
    const server = await start(createStore("memory://"));
    const uri = `anystore+${server.url}/app`;
    const driver = httpDriver({ url: uri });
    expect(driver.capabilities.watch).toBe(true);
    const watch = await feed(driver, "w/");
    await writeElsewhere(uri, {}, "put:w/a=1", "put:x/b=2", "stream:w/s=3", "putMany:w/m1,w/m2", "delete:w/a");
    await watch.all(["put w/a", "put w/s", "put w/m1", "put w/m2", "delete w/a"]);
    expect(watch.lines().indexOf("put w/a")).toBeLessThan(watch.lines().indexOf("delete w/a"));
    expect(watch.lines().filter((l) => !l.includes(" w/"))).toEqual([]);
    watch.stop();
  });

  it("speaks the protocol: both request forms, event framing, the token rule", async () => {
    const backing = createStore("memory://");
    const server = await start(backing, { token: "s3cret" });
    const auth = { authorization: "Bearer s3cret" };
    expect((await fetch(`${server.url}/p/?watch=true`)).status).toBe(401);
    for (const path of ["/p/?watch=true", "/?watch=true&prefix=p"]) {
      const controller = new AbortController();
      const res = await fetch(server.url + path, { headers: auth, signal: controller.signal });
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
      await backing.put("p/q/k.txt", "v");
      await backing.put("other", "v");
      await backing.delete("p/q/k.txt");
      const text = await readUntil(res.body!, "event: delete");
      expect(text).toContain("event: put\ndata: q/k.txt\n\n");
      expect(text).toContain("event: delete\ndata: q/k.txt\n\n");
      expect(text).not.toContain("other");
      controller.abort();
    }
  });

  it("works through store.watch with a token, keys relative to the store, line breaks in keys intact", async () => {
    const server = await start(createStore("memory://"), { token: "t0k" });
    const store = createStore(`anystore+${server.url}/base`, { token: "t0k" });
    const writer = createStore(`anystore+${server.url}`, { token: "t0k" });
    const events = store.watch({ prefix: "docs" });
    await events.ready;
    await writer.put("base/docs/line\nbreak", "x");
    await writer.put("base/elsewhere", "x");
    await writer.delete("base/docs/line\nbreak");
    const seen: WatchEvent[] = [];
    for await (const event of events) {
      seen.push(event);
      if (event.type === "delete") break;
    }
    expect(seen).toEqual([
      { type: "put", key: "docs/line\nbreak" },
      { type: "delete", key: "docs/line\nbreak" },
    ]);
    await Promise.all([store.close(), writer.close()]);
    const refused = createStore(`anystore+${server.url}`, { token: "wrong" }).watch();
    await expect(refused.next()).rejects.toMatchObject({ name: "HttpError", status: 401 });
  });

  it("ending the watch ends the server's watch, and a process that watched exits by itself", async () => {
    const { store, active } = counted(createStore("memory://"));
    const server = await start(store);
    const uri = `anystore+${server.url}`;
    const watcher = startProcess([uri, "{}", "watchOnce:in"]);
    await watcher.printed("ready");
    expect(active()).toBe(1);
    await store.put("out", "x");
    await store.put("in/k", "x");
    await watcher.printed("put in/k");
    expect(await watcher.exited()).toBe(0);
    expect(await until(() => active() === 0)).toBe(true);
  });

  it("an event stream outlives serve's request and header deadlines", async () => {
    const backing = createStore("memory://");
    const server = await start(backing, { requestTimeout: 300, headersTimeout: 200, connectionsCheckingInterval: 50 });
    const watch = await feed(httpDriver({ url: `anystore+${server.url}` }));
    await sleep(1000);
    await backing.put("late", "x");
    await watch.next(is("put late"));
    expect(watch.lines()).toEqual(["put late"]);
    watch.stop();
  });

  it("after the server is killed and restarted on the same port: resync, then events again", async () => {
    const port = await freePort();
    let server = startProcess(["--serve", "memory://", String(port)]);
    await server.printed(`http://127.0.0.1:${port}`);
    const uri = `anystore+http://127.0.0.1:${port}`;
    try {
      const watch = await feed(httpDriver({ url: uri }));
      await writeElsewhere(uri, {}, "put:a=1");
      await watch.next(is("put a"));
      server.kill();
      await server.exited();
      server = startProcess(["--serve", "memory://", String(port)]);
      await server.printed(`http://127.0.0.1:${port}`);
      await watch.next(is("resync"), 8000);
      await writeElsewhere(uri, {}, "put:b=1");
      await watch.next(is("put b"));
      watch.stop();
    } finally {
      server.kill();
    }
  });

  it("an unreachable server: the watch fails with ConnectionError", async () => {
    const store = createStore(`anystore+http://127.0.0.1:${await freePort()}`, { timeout: 500 });
    await expect(store.watch().next()).rejects.toMatchObject({ code: "CONNECTION" });
    await store.close();
  });

  it("polls listings against a server that answers a watch with a listing (Python's app)", async () => {
    const backing = createStore("memory://");
    const handler = createHandler(backing);
    // GET and HEAD only, the watch parameter ignored: a listing comes back, as from Python anystore.
    const plain = createServer(async (req, res) => {
      const url = new URL(req.url ?? "/", "http://localhost");
      url.searchParams.delete("watch");
      const response = await handler(new Request(url, { method: req.method, headers: req.headers as HeadersInit }));
      res.writeHead(response.status, Object.fromEntries(response.headers));
      res.end(Buffer.from(await response.arrayBuffer()));
    });
    await new Promise<void>((resolve) => plain.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = plain.address() as AddressInfo;
      const store = createStore(`anystore+http://127.0.0.1:${port}`, { watchInterval: 100 });
      const events = store.watch({ prefix: "n" });
      await events.ready;
      await backing.put("n/one", "1");
      expect((await events.next()).value).toEqual({ type: "put", key: "n/one" });
      await backing.delete("n/one");
      expect((await events.next()).value).toEqual({ type: "delete", key: "n/one" });
      await store.close();
    } finally {
      plain.closeAllConnections();
      await new Promise((resolve) => plain.close(resolve));
    }
  });
});
