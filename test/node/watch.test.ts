/**
 * `watch` beyond the contract (SPEC 11): other processes on fs and zip, processes that exit once
 * their watches end, overflow and polling failures as `resync`, and what cannot be watched.
 * The contract cases (test/shared/contract-watch.ts) run in every driver's own test file.
 */
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { MAX_PENDING } from "../../src/core/store/watch.js";
import type { Driver, Store, WatchEvent, WatchIterator } from "../../src/index.node.js";
import { createStore, UnsupportedError } from "../../src/index.node.js";
import { rejectsWith } from "../shared/contract.js";
import { waitFor } from "../shared/contract-watch.js";
import { startWorker } from "./processes.js";
import { TMP } from "./tmp.js";

const WORKER = join(import.meta.dirname, "watch-worker.ts");
let counter = 0;
const fresh = (name: string) => join(TMP, `watch-${process.pid}-${++counter}`, name);
const stores: Store[] = [];
afterAll(async () => {
  await Promise.all(stores.map((s) => s.close()));
});
const open = (uri: string, options = {}) => {
  const store = createStore(uri, options);
  stores.push(store);
  return store;
};

/** A process running watch-worker.ts. */
function watchWorker(mode: string, uri: string) {
  return startWorker([mode, uri], WORKER);
}

/** Reads until `expected`, noting how long it took from `since`. */
async function timed(events: WatchIterator, expected: WatchEvent, since: number): Promise<number> {
  await waitFor(events, expected);
  return Date.now() - since;
}

describe("watch across processes", () => {
  for (const [name, make] of [
    ["fs", () => fresh("dir")],
    ["zip", () => fresh("store.zip")],
  ] as const) {
    it(`${name}: sees a put and a delete made by another process (default watchInterval)`, async () => {
      const uri = make();
      const store = open(uri);
      await store.put("seed", 1); // the folder or archive exists before the other process opens it
      const events = store.watch({ prefix: "from-child" });
      await events.ready;
      const writer = watchWorker("write", uri);
      await writer.linesAtLeast(1);
      expect(writer.lines[0]).toBe("put");
      const putAfter = await timed(events, { type: "put", key: "from-child/k" }, Date.now());
      writer.child.stdin!.write("go\n");
      await writer.linesAtLeast(2);
      const deleteAfter = await timed(events, { type: "delete", key: "from-child/k" }, Date.now());
      const { code, stderr } = await writer.exited;
      expect(code, stderr).toBe(0);
      await events.return?.();
      console.log(
        `${name}: event ${putAfter} ms after the other process's put resolved, ${deleteAfter} ms after its delete`,
      );
    });

    it(`${name}: a process whose watches ended (break, signal, close) exits by itself`, async () => {
      const uri = make();
      const store = open(uri);
      await store.put("seed", 1);
      const watcher = watchWorker("watch", uri);
      for (let round = 1; round <= 3; round++) {
        await watcher.linesAtLeast(2 * round - 1);
        expect(watcher.lines[2 * round - 2]).toBe(`ready ${round}`);
        await store.put(`round${round}`, round);
        await watcher.linesAtLeast(2 * round);
        expect(watcher.lines[2 * round - 1]).toBe(`put round${round}`);
      }
      const { code, signal, stderr } = await watcher.exited;
      expect({ code, signal }, stderr).toEqual({ code: 0, signal: null });
      expect(watcher.lines.at(-1)).toBe("after close: end");
    }, 30_000);
  }
});

describe("fs feed", () => {
  /** The events read until `last` (a sentinel put written after the case's changes). */
  async function through(store: Store, events: WatchIterator, last = "zz-sentinel"): Promise<string[]> {
    await store.put(last, 1);
    return waitFor(events, { type: "put", key: last });
  }

  it("is native; a put (temp file renamed into place) is one put, a ttl sidecar nothing", async () => {
    const store = open(fresh("dir"));
    expect((await store.capabilities()).watch).toBe(true);
    const events = store.watch();
    await events.ready;
    await store.put("a/b.txt", "one");
    await store.put("c", "two", { ttl: 60 });
    await store.put("a/b.txt", "three");
    const seen = await through(store, events);
    expect(seen.filter((e) => e !== "put a/b.txt")).toEqual(["put c", "put zz-sentinel"]);
    expect(seen.filter((e) => e === "put a/b.txt").length).toBeGreaterThanOrEqual(1);
    await events.return?.();
  });

  it("a folder moved in is a put for each of its files; a folder removed, a delete for each", async () => {
    const dir = fresh("dir");
    const store = open(dir);
    await store.put("seed", 1);
    const outside = fresh("outside");
    await mkdir(join(outside, "deep"), { recursive: true });
    await writeFile(join(outside, "x.txt"), "x");
    await writeFile(join(outside, "deep", "y.txt"), "y");
    const events = store.watch({ prefix: "moved" });
    await events.ready;
    await rename(outside, join(dir, "moved"));
    const puts = await through(store, events, "moved/zz");
    expect(puts.sort()).toEqual(["put moved/deep/y.txt", "put moved/x.txt", "put moved/zz"]);
    await rm(join(dir, "moved"), { recursive: true });
    const deletes: string[] = [];
    for (const key of ["moved/deep/y.txt", "moved/x.txt", "moved/zz"]) {
      if (!deletes.includes(`delete ${key}`)) deletes.push(...(await waitFor(events, { type: "delete", key })));
    }
    expect(deletes.sort()).toEqual(["delete moved/deep/y.txt", "delete moved/x.txt", "delete moved/zz"]);
    await events.return?.();
  });

  it("files written by other programs are keys; folders are never reported", async () => {
    const dir = fresh("dir");
    const store = open(dir);
    await store.put("seed", 1);
    const events = store.watch();
    await events.ready;
    await mkdir(join(dir, "f/g"), { recursive: true });
    await writeFile(join(dir, "f/g/h.csv"), "1,2");
    await writeFile(join(dir, "f/tmp.part"), "partial");
    await rename(join(dir, "f/tmp.part"), join(dir, "f/done.txt"));
    const seen = await through(store, events);
    expect(seen.filter((e) => e === "put f" || e === "put f/g")).toEqual([]);
    expect(seen).toContain("put f/g/h.csv");
    expect(seen).toContain("put f/done.txt");
    await store.delete("f/g/h.csv"); // the driver removes the emptied folders too
    const after = await waitFor(events, { type: "delete", key: "f/g/h.csv" });
    const more = await through(store, events, "zz-second");
    expect([...after, ...more].filter((e) => e.startsWith("delete") && e !== "delete f/g/h.csv")).toEqual([]);
    await events.return?.();
  });
});

describe("watch buffering and failures", () => {
  it("a consumer that falls behind by more than the bound gets resync, then new events", async () => {
    const store = open(`memory://watch-overflow-${process.pid}`);
    const events = store.watch();
    await events.ready;
    for (let i = 0; i <= MAX_PENDING; i++) await store.put(`k${i}`, i);
    expect((await events.next()).value).toEqual({ type: "resync" });
    await store.put("later", 1);
    expect((await events.next()).value).toEqual({ type: "put", key: "later" });
    await events.return?.();
  });

  it("a thousand watches of one store all hear a put, and close() ends them all", async () => {
    const store = createStore(`memory://watch-many-${process.pid}`);
    const watches = Array.from({ length: 1000 }, (_, i) => store.watch({ prefix: i % 2 ? "odd" : "even" }));
    await Promise.all(watches.map((w) => w.ready));
    await store.put("odd/k", 1);
    await store.put("even/k", 1);
    const firsts = await Promise.all(watches.map((w) => w.next()));
    expect(new Set(firsts.map((r) => JSON.stringify(r.value))).size).toBe(2);
    await store.close();
    expect((await Promise.all(watches.map((w) => w.next()))).every((r) => r.done)).toBe(true);
  });

  it("a slow consumer gets one event per key, the latest", async () => {
    const store = open(`memory://watch-coalesce-${process.pid}`);
    const events = store.watch();
    await events.ready;
    await store.put("a", 1);
    await store.put("b", 1);
    await store.delete("a");
    const got = [(await events.next()).value, (await events.next()).value];
    expect(got).toEqual([
      { type: "delete", key: "a" },
      { type: "put", key: "b" },
    ]);
    await events.return?.();
  });

  it("a polling failure is a resync once listing works again, never an unhandled rejection", async () => {
    const values = new Map<string, Uint8Array>();
    let failing = false;
    const driver: Driver = {
      name: "flaky",
      capabilities: { ttl: true },
      async get(key) {
        return values.get(key) ?? null;
      },
      async put(key, value) {
        values.set(key, value);
      },
      async delete(key) {
        values.delete(key);
      },
      async *list(prefix) {
        if (failing) throw new Error("backend down");
        for (const key of values.keys()) if (key.startsWith(prefix)) yield key;
      },
    };
    const store = createStore({ driver, watchInterval: 20 });
    const events = store.watch();
    await events.ready;
    failing = true;
    await store.put("during", 1);
    // Let the poller meet the failure: a watch on the same store shows when a listing has passed.
    await new Promise((resolve) => setTimeout(resolve, 100));
    failing = false;
    // Events of the failed listings are lost; the first one that works again says so.
    let result = await events.next();
    while (!result.done && result.value.type !== "resync") result = await events.next();
    expect(result.value).toEqual({ type: "resync" });
    await store.put("after", 1);
    expect(await waitFor(events, { type: "put", key: "after" })).toEqual(["put after"]);
    await store.close();
  });

  it("a driver whose watch finds no feed (UnsupportedError) is polled instead", async () => {
    const values = new Map<string, Uint8Array>();
    const driver: Driver = {
      name: "no-feed",
      capabilities: { ttl: true, watch: true },
      async get(key) {
        return values.get(key) ?? null;
      },
      async put(key, value) {
        values.set(key, value);
      },
      async delete(key) {
        values.delete(key);
      },
      async *list(prefix) {
        for (const key of values.keys()) if (key.startsWith(prefix)) yield key;
      },
      async watch() {
        throw new UnsupportedError("this server sends no events");
      },
    };
    const store = createStore({ driver, watchInterval: 20 });
    const events = store.watch();
    await events.ready;
    await store.put("k", 1);
    expect(await waitFor(events, { type: "put", key: "k" })).toEqual(["put k"]);
    await store.close();
  });

  it("watchInterval must be a positive number", async () => {
    const store = createStore("memory://", { watchInterval: -1 });
    await rejectsWith(store.watch().next(), "INVALID_ARGUMENT");
  });

  it("plain http(s):// cannot be watched: UnsupportedError", async () => {
    const server = createServer((_req, res) => res.end("x"));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const store = createStore(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
      const events = store.watch();
      await events.ready;
      await rejectsWith(events.next(), "UNSUPPORTED");
      await store.close();
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
