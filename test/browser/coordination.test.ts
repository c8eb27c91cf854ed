/**
 * Coordination over IndexedDB in Chromium (issue 17): participants with connections of their
 * own to one database, as two tabs would have. Each test runs two stores in the page and two
 * dedicated workers (separate agents, each opening the database itself) side by side; a worker
 * terminated mid-item stands for a closed tab.
 */
import { deleteDB } from "idb";
import { afterAll, describe, expect, it } from "vitest";
import type { Store } from "../../src/index.browser.js";
import { createStore, isAnystoreError, lock, queue } from "../../src/index.browser.js";
import { type holdJob, lockJob, queueJob } from "./coordination-jobs.js";

const run = `coord-${Date.now().toString(36)}`;
let counter = 0;
const databases: string[] = [];
const stores: Store[] = [];
const workers: Worker[] = [];

const freshDb = () => {
  const name = `anystore-${run}-${counter++}`;
  databases.push(name);
  return name;
};
const open = (db: string) => {
  const store = createStore(`idb://${db}`);
  stores.push(store);
  return store;
};

/** Starts a worker on a job; resolves to its result. */
function inWorker<T>(job: { mode: string; db: string; name: string; count: number }): {
  worker: Worker;
  result: Promise<T>;
} {
  const worker = new Worker(new URL("./coordination-worker.ts", import.meta.url), { type: "module" });
  workers.push(worker);
  const result = new Promise<T>((resolve, reject) => {
    worker.onmessage = (event) =>
      event.data.error ? reject(new Error(`in the worker: ${event.data.error}`)) : resolve(event.data.result);
    worker.onerror = (event) => reject(new Error(`worker error: ${event.message}`));
  });
  worker.postMessage(job);
  return { worker, result };
}

afterAll(async () => {
  for (const w of workers) w.terminate();
  await Promise.all(stores.map((s) => s.close()));
  await Promise.all(databases.map((name) => deleteDB(name)));
});

describe("coordination over indexeddb: two stores of the page and two workers", () => {
  it("50 contenders hold the lock one at a time", { timeout: 120_000 }, async () => {
    const db = freshDb();
    const released = await Promise.all([
      lockJob(open(db), "page-a", 10),
      lockJob(open(db), "page-b", 10),
      inWorker<number>({ mode: "lock", db, name: "worker-a", count: 15 }).result,
      inWorker<number>({ mode: "lock", db, name: "worker-b", count: 15 }).result,
    ]);
    const log = (await open(db).get("log")) as string[];
    expect(log, "no entry lost to a concurrent read-modify-write").toHaveLength(100);
    for (let i = 0; i < log.length; i += 2) {
      const [what, who] = log[i]!.split(" ");
      expect(what).toBe("start");
      expect(log[i + 1], `nobody else ran inside ${who}'s turn`).toBe(`end ${who}`);
    }
    expect(new Set(log.map((entry) => entry.split(" ")[1])).size).toBe(50);
    expect(released.reduce((a, b) => a + b, 0)).toBe(50);
  });

  it("3 consumers x 300 items: every item acked exactly once", { timeout: 120_000 }, async () => {
    const db = freshDb();
    const answers = await Promise.all([
      queueJob(open(db), "page", 100),
      inWorker<Array<[string, string]>>({ mode: "queue", db, name: "worker-a", count: 100 }).result,
      inWorker<Array<[string, string]>>({ mode: "queue", db, name: "worker-b", count: 100 }).result,
    ]);
    const acked = answers.flat();
    const expected = ["page", "worker-a", "worker-b"].flatMap((name) =>
      Array.from({ length: 100 }, (_, i) => `${name}-${i}`),
    );
    expect(acked.map(([, value]) => value).sort()).toEqual(expected.sort());
    expect(new Set(acked.map(([id]) => id)).size).toBe(300);
    expect(await queue(open(db), { prefix: "work" }).size()).toBe(0);
  });

  it("a worker terminated mid-item: its lock frees itself after ttl, its item comes back after visibility", {
    timeout: 60_000,
  }, async () => {
    const db = freshDb();
    const store = open(db);
    const items = queue<string>(store, { prefix: "crash", visibility: 1 });
    const pushed = await items.push("the item");
    const { worker, result } = inWorker<Awaited<ReturnType<typeof holdJob>>>({
      mode: "hold",
      db,
      name: "holder",
      count: 0,
    });
    const { token, item } = await result;
    expect(item).toBe(pushed);
    worker.terminate();
    expect(isAnystoreError(await lock(store, "crash", { wait: false }).catch((e) => e), "ALREADY_EXISTS")).toBe(true);
    expect(await items.take()).toBeNull();
    const held = await lock(store, "crash", { timeout: 20, pollInterval: 50 });
    expect(held.token).not.toBe(token);
    let again = await items.take();
    for (let tries = 0; !again && tries < 100; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      again = await items.take();
    }
    expect(again?.id).toBe(pushed);
    await again!.ack();
    expect(await held.release()).toBe(true);
  });
});
