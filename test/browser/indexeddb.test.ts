import { deleteDB, openDB } from "idb";
import { describe, expect, it } from "vitest";
import { createStore } from "../../src/index.browser.js";
import { contractSuite } from "../shared/contract.js";

const run = `t${Date.now().toString(36)}`;
let counter = 0;
const made: string[] = [];
/** A fresh database per store, so every case starts empty. */
const freshDb = () => {
  const name = `anystore-${run}-${counter++}`;
  made.push(name);
  return name;
};

contractSuite({
  name: "indexeddb (chromium)",
  make: (options) => createStore(`idb://${freshDb()}`, options),
  reopen: (store) => createStore(store.uri),
  cleanup: async () => {
    await Promise.all(made.map((name) => deleteDB(name)));
  },
});

contractSuite({
  name: "indexeddb with a uri prefix (chromium)",
  make: (options) => createStore(`indexeddb://anystore-${run}-shared/p${counter++}`, options),
  reopen: (store) => createStore(store.uri),
  cleanup: () => deleteDB(`anystore-${run}-shared`),
});

describe("indexeddb driver", () => {
  /** Records every IDBDatabase the page opens, so a test can close one underneath the driver. */
  const captureConnections = () => {
    const opened: IDBDatabase[] = [];
    const original = indexedDB.open;
    indexedDB.open = function (this: IDBFactory, name: string, version?: number) {
      const request = original.call(this, name, version);
      request.addEventListener("success", () => opened.push(request.result));
      return request;
    } as IDBFactory["open"];
    const restore = () => {
      indexedDB.open = original;
    };
    return { opened, restore };
  };

  it("reopens and retries once when the browser closes the connection underneath", async () => {
    const name = freshDb();
    const capture = captureConnections();
    const store = createStore(`idb://${name}`);
    try {
      await store.put("a", { n: 1 });
      expect(capture.opened.length).toBeGreaterThan(0);
      for (const db of capture.opened) db.close(); // "The database connection is closing" on the next transaction
      expect(await store.get("a")).toEqual({ n: 1 });
      for (const db of capture.opened) db.close();
      await store.putMany([
        ["b", 2],
        ["c", 3],
      ]);
      for (const db of capture.opened) db.close();
      expect([...(await store.getMany(["a", "b", "c"])).values()]).toEqual([{ n: 1 }, 2, 3]);
      for (const db of capture.opened) db.close();
      const keys: string[] = [];
      for await (const key of store.keys()) keys.push(key);
      expect(keys.sort()).toEqual(["a", "b", "c"]);
    } finally {
      capture.restore();
      await store.close();
    }
  });

  it("gives way to a versionchange from another tab, then reopens (also on a database upgraded with other stores)", async () => {
    const name = freshDb();
    const store = createStore(`idb://${name}`);
    await store.put("k", "v");
    // Another tab upgrades the same database: our open connection must not block it.
    const other = await openDB(name, 50, { upgrade: (db) => void db.createObjectStore("theirs") });
    other.close();
    expect(await store.get("k")).toBe("v");
    await store.put("k2", "v2");
    expect(await store.get("k2")).toBe("v2");
    // Another tab deletes the database: not blocked either; the store starts over, empty.
    await deleteDB(name, { blocked: () => expect.fail("deleteDB was blocked by the store's connection") });
    expect(await store.exists("k")).toBe(false);
    await store.put("k", "again");
    expect(await store.get("k")).toBe("again");
    await store.close();
  });

  it("keeps one record per key with its metadata, large values as Blobs", async () => {
    const name = freshDb();
    const store = createStore(`idb://${name}/tenant`);
    await store.put("small.txt", "hi", { contentType: "text/x-hi" });
    await store.put("big.bin", new Uint8Array(100 * 1024).fill(7));
    await store.put("brief", 1, { ttl: 60 });
    await store.close();
    const db = await openDB(name);
    expect([...db.objectStoreNames]).toEqual(["records"]);
    const small = await db.get("records", "tenant/small.txt");
    expect(small).toMatchObject({ size: 2, contentType: "text/x-hi", value: expect.any(Uint8Array) });
    expect(small.createdAt).toBeTypeOf("number");
    expect(small).not.toHaveProperty("expiresAt");
    const big = (await db.get("records", "tenant/big.bin")).value;
    expect(big).toBeInstanceOf(Blob);
    expect(big.size).toBe(100 * 1024);
    // Only records with a ttl are in the expiry index.
    expect(await db.getAllKeysFromIndex("records", "expiresAt")).toEqual(["tenant/brief"]);
    db.close();
    const again = createStore(`idb://${name}/tenant`);
    expect((await again.get("big.bin", { serialization: "raw" })).byteLength).toBe(100 * 1024);
    expect((await again.info("small.txt")).contentType).toBe("text/x-hi");
    const part = await new Response(await again.open("big.bin", "r", { start: 10, end: 20 })).arrayBuffer();
    expect(new Uint8Array(part)).toEqual(new Uint8Array(10).fill(7));
    await again.close();
  });

  it("is the browser's default store (idb://anystore)", async () => {
    const store = createStore();
    expect(store.uri).toBe("idb://anystore");
    const key = `default-${run}`;
    await store.put(key, { ok: true });
    const db = await openDB("anystore");
    expect(await db.get("records", key)).toMatchObject({ size: 11 });
    db.close();
    await store.delete(key);
    await store.close();
  });

  it("uri prefixes isolate stores sharing one database", async () => {
    const name = freshDb();
    const a = createStore(`idb://${name}/a`);
    const b = createStore(`idb://${name}/ab`);
    await a.put("k", 1);
    await b.put("k", 2);
    const keys: string[] = [];
    for await (const key of a.keys()) keys.push(key);
    expect(keys).toEqual(["k"]);
    expect(await a.get("k")).toBe(1);
    await Promise.all([a.close(), b.close()]);
  });

  it("hides expired keys from listings across pages and sweeps them without a read", async () => {
    const name = freshDb();
    const store = createStore(`idb://${name}`);
    const entries = (from: number, n: number) =>
      Array.from({ length: n }, (_, i) => [`k/${String(from + i).padStart(5, "0")}`, i] as [string, number]);
    await store.putMany(entries(0, 1500));
    const written = Date.now();
    await store.putMany(entries(1500, 1000), { ttl: 4 });
    let count = 0;
    for await (const _ of store.keys({ prefix: "k" })) count++;
    expect(count).toBe(2500);
    await new Promise((resolve) => setTimeout(resolve, written + 4400 - Date.now()));
    count = 0;
    for await (const _ of store.keys({ prefix: "k" })) count++;
    expect(count).toBe(1500);
    // The sweep timer (due at the earliest expiry) has reclaimed the records: nothing is left to sweep.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await store.sweep()).toBe(0);
    await store.close();
    const db = await openDB(name);
    expect(await db.count("records")).toBe(1500);
    db.close();
  });

  it("calls issued together share a transaction yet keep their order", async () => {
    const store = createStore(`idb://${freshDb()}`, { throwOnMissing: false });
    const seen = await Promise.all([
      store.put("k", 1),
      store.get("k"),
      store.put("k", 2),
      store.get("k"),
      store.putMany([
        ["k", 3],
        ["j", 4],
      ]),
      store.getMany(["k", "j"]).then((found) => [...found.values()]),
      store.delete("k"),
      store.exists("k"),
      store.put("k", 5, { ifNotExists: true }),
      store.get("k"),
    ]);
    expect(seen).toEqual([undefined, 1, undefined, 2, undefined, [3, 4], undefined, false, undefined, 5]);
    // A failing ifNotExists among plain puts fails alone.
    const mixed = await Promise.allSettled([
      store.put("a", 1),
      store.put("k", 6, { ifNotExists: true }),
      store.put("b", 2),
    ]);
    expect(mixed.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect(await store.getMany(["a", "k", "b"]).then((found) => [...found.values()])).toEqual([1, 5, 2]);
    await store.close();
  });

  it("chains sequential reads onto one transaction, yet every read sees the writes before it", async () => {
    const name = freshDb();
    const store = createStore(`idb://${name}`);
    const keys = Array.from({ length: 150 }, (_, i) => `k/${i}`);
    await store.putMany(keys.map((k, i) => [k, i] as [string, number]));

    const original = IDBDatabase.prototype.transaction;
    let transactions = 0;
    IDBDatabase.prototype.transaction = function (this: IDBDatabase, ...args: Parameters<IDBDatabase["transaction"]>) {
      transactions++;
      return original.apply(this, args);
    } as IDBDatabase["transaction"];
    try {
      const seen: unknown[] = [];
      for (const k of keys) seen.push(await store.get(k));
      expect(seen).toEqual(keys.map((_, i) => i));
      // 150 reads in chains of at most 64: a few transactions, not one per read.
      expect(transactions).toBeLessThanOrEqual(4);
    } finally {
      IDBDatabase.prototype.transaction = original;
    }

    // A write (here or through another connection, as from another tab) ends the chain.
    const other = createStore(`idb://${name}`);
    for (let i = 0; i < 20; i++) {
      expect(await store.get("k/0")).toBe(i === 0 ? 0 : i - 1 + 1000);
      await (i % 2 ? other : store).put("k/0", i + 1000);
      expect(await store.get("k/0")).toBe(i + 1000);
      expect(await store.exists("k/1")).toBe(true);
    }
    await other.close();
    await store.close();
  });
  it("lists before anything else has opened the database (a listing is a store's first call)", async () => {
    const name = freshDb();
    const writer = createStore(`idb://${name}`);
    await writer.putMany([
      ["a/1", 1],
      ["a/2", 2],
      ["b/1", 3],
    ]);
    await writer.close();
    // A fresh copy of the driver's module: nothing loaded yet, as on a page's first listing.
    // @ts-expect-error: a query string makes Vite load a separate module instance
    const fresh: typeof import("../../src/drivers/browser/indexeddb/indexeddb.js") = await import(
      "../../src/drivers/browser/indexeddb/indexeddb.ts?first-listing"
    );
    const reader = createStore({ driver: fresh.indexeddbDriver({ name }) });
    const listing = reader.keys({ prefix: "a" });
    const keys: string[] = [];
    for await (const key of listing) keys.push(key);
    expect(keys).toEqual(["a/1", "a/2"]);
    await reader.close();
    // An abandoned first listing and a failed open both end cleanly.
    const early = createStore(`idb://${name}`);
    const it = early.keys()[Symbol.asyncIterator]();
    await it.return?.();
    await early.close();
  });

  it("lists many pages in order (each page larger than the last)", async () => {
    const store = createStore(`idb://${freshDb()}/p`);
    const all = Array.from({ length: 7500 }, (_, i) => `d/${String(i).padStart(5, "0")}`);
    await store.putMany(all.map((k) => [k, 0] as [string, number]));
    await store.putMany([
      ["e/after", 0],
      ["c/before", 0],
    ]);
    const keys: string[] = [];
    for await (const key of store.keys({ prefix: "d" })) keys.push(key);
    expect(keys).toEqual(all);
    await store.close();
  });

  it("streams a value in with bounded parts and reads it back", async () => {
    const store = createStore(`idb://${freshDb()}`);
    const size = 24 * 1024 * 1024 + 5;
    let sent = 0;
    const source = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= size) return controller.close();
        const n = Math.min(1 << 20, size - sent);
        controller.enqueue(new Uint8Array(n).fill((sent >> 20) & 255));
        sent += n;
      },
    });
    await store.put("stream.bin", source);
    expect((await store.info("stream.bin")).size).toBe(size);
    const tail = new Uint8Array(
      await new Response(await store.open("stream.bin", "r", { start: size - 5 })).arrayBuffer(),
    );
    expect(tail).toEqual(new Uint8Array(5).fill(24));
    await store.close();
  });
});
