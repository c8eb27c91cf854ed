/**
 * `sync` and `cached` (SPEC 12) in Chromium: the case matrix with IndexedDB against memory and
 * an anystore server (the browser project's globalSetup serves one), both ways round; a live
 * sync between IndexedDB and the server; `cached` with IndexedDB in front of the server.
 */
import { deleteDB } from "idb";
import { afterAll, describe, expect, inject, it } from "vitest";
import { cached, createStore, sync } from "../../src/index.browser.js";
import { snapshot, syncMatrix } from "../shared/sync-matrix.js";

const url = inject("anystoreHttpUrl");
const run = `sync${Date.now().toString(36)}`;
let counter = 0;
const made: string[] = [];
const idb = () => {
  const name = `anystore-${run}-${++counter}`;
  made.push(name);
  return createStore(`idb://${name}`);
};
const memory = () => createStore(`memory://${run}-${++counter}`);
const http = () => createStore(`anystore+${url}/${run}-${++counter}`);

afterAll(async () => {
  await Promise.all(made.map((name) => deleteDB(name)));
});

describe("sync in Chromium: the case matrix", () => {
  syncMatrix(
    [
      { name: "indexeddb <-> memory", make: () => [idb(), memory()] },
      { name: "indexeddb <-> anystore+http", make: () => [idb(), http()] },
      { name: "anystore+http <-> indexeddb", make: () => [http(), idb()] },
    ],
    sync,
  );
});

describe("sync and cached in Chromium", () => {
  it("a live sync between IndexedDB and the server follows both sides until aborted", async () => {
    const a = idb();
    const b = http();
    const controller = new AbortController();
    const running = sync(a, b, { live: true, signal: controller.signal, debounce: 20 });
    await a.put("note.md", "from the browser");
    await expect.poll(() => b.exists("note.md"), { timeout: 10_000 }).toBe(true);
    await b.put("other.md", "from the server");
    await expect.poll(() => a.exists("other.md"), { timeout: 10_000 }).toBe(true);
    controller.abort();
    expect(await running).toMatchObject({ copiedToA: 1, copiedToB: 1, failed: 0 });
    expect(await snapshot(a)).toEqual(await snapshot(b));
  });

  it("cached keeps what it read from the server in IndexedDB", async () => {
    const remote = http();
    const local = idb();
    await remote.put("doc.json", { v: 1 });
    const store = cached(remote, local, { ttl: 60 });
    expect(await store.get("doc.json")).toEqual({ v: 1 });
    expect(await local.get("doc.json")).toEqual({ v: 1 });
    await store.put("new.json", { v: 2 });
    expect(await remote.get("new.json")).toEqual({ v: 2 });
  });
});
