/**
 * `watch` across the contexts of one origin (SPEC 11): a dedicated worker writes to IndexedDB and
 * OPFS while the page watches (BroadcastChannel); `memory://NAME` between stores of one page.
 */
import { afterAll, describe, expect, it } from "vitest";
import { createStore } from "../../src/index.browser.js";
import { waitFor } from "../shared/contract-watch.js";

const run = `watch-${Date.now().toString(36)}`;
const workers: Worker[] = [];
afterAll(() => {
  for (const worker of workers) worker.terminate();
});

/** A worker of watch-worker.ts; `step()` sends it the next message and resolves to its answer. */
function writerWorker(uri: string): { step: () => Promise<string> } {
  const worker = new Worker(new URL("./watch-worker.ts", import.meta.url), { type: "module" });
  workers.push(worker);
  return {
    step: () =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("the worker did not answer within 20 s")), 20_000);
        worker.onmessage = (event) => {
          clearTimeout(timer);
          resolve(String(event.data));
        };
        worker.onerror = (event) => reject(new Error(`worker error: ${event.message}`));
        worker.postMessage({ uri });
      }),
  };
}

describe("watch between the contexts of one origin", () => {
  for (const uri of [`idb://${run}`, `indexeddb://${run}-nested/outer`, `opfs://${run}`]) {
    it(`${uri}: the page sees a worker's put and delete, natively`, async () => {
      const store = createStore(uri);
      expect((await store.capabilities()).watch).toBe(true);
      const events = store.watch({ prefix: "from-worker" });
      await events.ready;
      const worker = writerWorker(uri);
      expect(await worker.step()).toBe("put");
      expect(await waitFor(events, { type: "put", key: "from-worker/k" })).toEqual(["put from-worker/k"]);
      expect(await store.get("from-worker/k")).toEqual({ from: "worker" });
      expect(await worker.step()).toBe("deleted");
      expect(await waitFor(events, { type: "delete", key: "from-worker/k" })).toEqual(["delete from-worker/k"]);
      await events.return?.();
      await store.close();
    });
  }

  it("a store on a folder hears the writes of a store on its parent, with its own keys", async () => {
    const outer = createStore(`opfs://${run}-tree`);
    const inner = createStore(`opfs://${run}-tree/sub`);
    const events = inner.watch();
    await events.ready;
    await outer.put("elsewhere", 1);
    await outer.put("sub/mine", 1);
    expect(await waitFor(events, { type: "put", key: "mine" })).toEqual(["put mine"]);
    await events.return?.();
  });

  it("memory://NAME: a store sees another store's writes in the same page", async () => {
    const a = createStore(`memory://${run}`);
    const b = createStore(`memory://${run}`);
    const events = a.watch();
    await events.ready;
    await b.put("x", 1);
    expect(await waitFor(events, { type: "put", key: "x" })).toEqual(["put x"]);
    await events.return?.();
  });
});
