/**
 * Coordination helpers in one process (SPEC 13): Python anystore's key layouts, option checks,
 * lock waiting and errors, queue order, redelivery and `consume`, the queue's id window, rate
 * limit slots, and the atomic-operations seam. Across processes: coordination.test.ts.
 */
import { describe, expect, it } from "vitest";
import { z } from "zod";
import type { AtomicOps } from "../../src/core/coordination/atomic.js";
import { ATOMIC_OPS } from "../../src/core/coordination/atomic.js";
import { newId, timeOfId } from "../../src/core/coordination/ids.js";
import { Window } from "../../src/core/coordination/queue-window.js";
import type { Store } from "../../src/index.node.js";
import { createStore, isAnystoreError, lock, queue, rateLimit, tags, withLock } from "../../src/index.node.js";

const UUID7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const codeOf = (error: unknown) => (error as { code?: string })?.code;

async function keysOf(store: Store, prefix?: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const key of store.keys(prefix === undefined ? {} : { prefix })) keys.push(key);
  return keys.sort();
}

describe("ids", () => {
  it("are UUIDv7 text, strictly increasing within the process, carrying the time", () => {
    const before = Date.now();
    const ids = Array.from({ length: 20_000 }, () => newId());
    for (const id of ids) expect(id).toMatch(UUID7);
    for (let i = 1; i < ids.length; i++) expect(ids[i]! > ids[i - 1]!, `${ids[i]} after ${ids[i - 1]}`).toBe(true);
    expect(timeOfId(ids[0]!)).toBeGreaterThanOrEqual(before);
    expect(timeOfId("not-an-id")).toBeNull();
  });
});

describe("Python anystore's layouts", () => {
  it("lock: `.LOCK` by default, holding the holder's token; a Python lock (any value there) keeps it held", async () => {
    const store = createStore("memory://");
    const held = await lock(store);
    expect(held.key).toBe(".LOCK");
    expect(await store.get(".LOCK", { serialization: "raw" })).toEqual(new TextEncoder().encode(held.token));
    expect(await held.release()).toBe(true);
    await store.touch(".LOCK"); // what Python's Lock writes
    expect(codeOf(await lock(store, { wait: false }).catch((e) => e))).toBe("ALREADY_EXISTS");
  });

  it("queue: items at <prefix>/<uuid7> as plain values, claims outside the items' folder", async () => {
    const store = createStore("memory://");
    const q = queue<{ n: number }>(store, { prefix: "crawl/upsert" });
    const id = await q.push({ n: 1 });
    expect(id).toMatch(UUID7);
    expect(await keysOf(store)).toEqual([`crawl/upsert/${id}`]);
    expect(await store.get(`crawl/upsert/${id}`)).toEqual({ n: 1 });
    // An item a Python producer put (any key in the folder) is taken too.
    await store.put("crawl/upsert/0190a000-0000-7000-8000-000000000000", { n: 0 });
    const first = await q.take();
    expect(first?.value).toEqual({ n: 0 });
    expect(await keysOf(store, "crawl/upsert")).toHaveLength(2); // a claim is not an item
    expect(await keysOf(store, "crawl/upsert.claims")).toEqual([
      "crawl/upsert.claims/0190a000-0000-7000-8000-000000000000",
    ]);
    await first!.ack();
    expect(await q.size()).toBe(1);
  });

  it("rateLimit: rate/<resource>/<slot> holds the window's count, for this slot and the interval - 1 after it", async () => {
    const store = createStore("memory://");
    // Slots of a day: the hits below fall into one slot (unless they straddle midnight UTC).
    const limit = rateLimit(store, "api", { limit: 10, interval: 3, unit: 86_400 });
    await limit.hit();
    expect(await limit.hit(2)).toBe(3);
    const slot = Math.floor(Date.now() / 86_400_000);
    const keys = (await keysOf(store)).filter((k) => !k.endsWith(".LOCK"));
    expect(keys).toEqual([slot, slot + 1, slot + 2].map((s) => `rate/api/${s}`));
    for (const key of keys) expect(await store.get(key)).toBe(3);
    // Python writes its counts through the store too: an int, read back here as a number.
    await store.put(`rate/api/${slot}`, "7");
    expect(await limit.count()).toBe(7);
    expect(await limit.hit()).toBe(8);
  });

  it("tags: touch stores a time as store.touch does (an ISO string), also on a raw store", async () => {
    const store = createStore("memory://", { serialization: "raw" });
    const started = await tags(store).touch("done", (at) => at);
    expect(new TextDecoder().decode((await store.get("done")) as Uint8Array)).toBe(JSON.stringify(started));
  });
});

describe("options", () => {
  const store = createStore("memory://");

  it("bad options are InvalidArgumentError before anything is written", async () => {
    for (const options of [{ ttl: 0 }, { ttl: -1 }, { ttl: Number.NaN }, { timeout: -1 }, { pollInterval: 0 }]) {
      expect(codeOf(await lock(store, "k", options).catch((e) => e)), JSON.stringify(options)).toBe("INVALID_ARGUMENT");
    }
    expect(codeOf(await lock(store, "").catch((e) => e))).toBe("INVALID_ARGUMENT");
    expect(codeOf(await lock(store, "/abs").catch((e) => e)), "the store checks the key").toBe("INVALID_KEY");
    expect(
      codeOf(
        await queue(store, { prefix: "../up" })
          .push(1)
          .catch((e) => e),
      ),
    ).toBe("INVALID_KEY");
    expect(() => queue(store, { prefix: "/" })).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    expect(() => queue(store, { visibility: 0 })).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    expect(() => rateLimit(store, "")).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    expect(() => rateLimit(store, "r", { limit: 0 })).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    expect(() => rateLimit(store, "r", { interval: 1.5 })).toThrow(
      expect.objectContaining({ code: "INVALID_ARGUMENT" }),
    );
    expect(() => rateLimit(store, "r", { unit: -1 })).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    expect(
      codeOf(
        await rateLimit(store, "r")
          .hit(-1)
          .catch((e) => e),
      ),
    ).toBe("INVALID_ARGUMENT");
    expect(await keysOf(store)).toEqual([]);
  });
});

describe("lock", () => {
  it("wait: false and timeout reject with AlreadyExistsError naming the key; an abort with the signal's reason", async () => {
    const store = createStore("memory://");
    const held = await lock(store, "jobs/a");
    const refused = await lock(store, "jobs/a", { wait: false }).catch((e) => e);
    expect(isAnystoreError(refused, "ALREADY_EXISTS")).toBe(true);
    expect(refused.key).toBe("jobs/a");
    const timedOut = await lock(store, "jobs/a", { timeout: 0.2, pollInterval: 10 }).catch((e) => e);
    expect(isAnystoreError(timedOut, "ALREADY_EXISTS")).toBe(true);
    expect(timedOut.message).toContain("still held after 0.2 s");
    const controller = new AbortController();
    const waiting = lock(store, "jobs/a", { signal: controller.signal, pollInterval: 10 });
    setTimeout(() => controller.abort(new Error("shutting down")), 50);
    await expect(waiting).rejects.toThrow("shutting down");
    expect(await held.release()).toBe(true);
    expect(await held.release(), "a second release does nothing").toBe(false);
  });

  it("a waiter gets the lock once it is released", async () => {
    const store = createStore("memory://");
    const first = await lock(store);
    const second = lock(store, { pollInterval: 5 });
    await sleep(30);
    await first.release();
    expect((await second).token).not.toBe(first.token);
  });

  it("renew keeps the lock past its first ttl", async () => {
    const store = createStore("memory://");
    const held = await lock(store, "k", { ttl: 1 });
    expect(await held.renew(5)).toBe(true);
    expect(held.expiresAt.getTime()).toBeGreaterThan(Date.now() + 4000);
    await sleep(1300);
    expect(codeOf(await lock(store, "k", { wait: false }).catch((e) => e))).toBe("ALREADY_EXISTS");
    expect(await held.release()).toBe(true);
  });

  it("withLock and `await using` release also when the work throws", async () => {
    const store = createStore("memory://");
    expect(await withLock(store, "w", async (held) => held.key)).toBe("w");
    await expect(withLock(store, "w", () => Promise.reject(new Error("failed work")))).rejects.toThrow("failed work");
    expect(await store.exists("w")).toBe(false);
    await (async () => {
      await using held = await lock(store, "u");
      expect(await store.exists(held.key)).toBe(true);
    })();
    expect(await store.exists("u")).toBe(false);
  });

  it("uses a store's atomic operations when it carries them (the driver capability seam)", async () => {
    const store = createStore("memory://");
    const calls: string[] = [];
    const ops: AtomicOps = {
      async compareAndDelete(key) {
        calls.push(`delete ${key}`);
        await store.delete(key);
        return true;
      },
      async compareAndRenew(key, _expected, ttl) {
        calls.push(`renew ${key} ${ttl}`);
        return true;
      },
    };
    const atomic = new Proxy(store, {
      get(target, name) {
        if (name === ATOMIC_OPS) return ops;
        const value = Reflect.get(target, name, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const held = await lock(atomic, "a", { ttl: 1 });
    await sleep(900); // inside the safety margin: only an atomic compare may still act
    expect(await held.renew(2)).toBe(true);
    expect(await held.release()).toBe(true);
    expect(calls).toEqual(["renew a 2", "delete a"]);
  });
});

describe("queue", () => {
  it("takes the oldest item first; a nacked item is next again; an item not acked comes back after visibility", async () => {
    const store = createStore("memory://");
    const q = queue<string>(store, { visibility: 1 });
    for (const value of ["a", "b", "c"]) await q.push(value);
    const a = await q.take();
    const b = await q.take();
    expect([a?.value, b?.value]).toEqual(["a", "b"]);
    await b!.nack();
    expect((await q.take())?.value).toBe("b");
    expect((await q.take())?.value).toBe("c");
    expect(await q.take()).toBeNull();
    await a!.ack();
    await a!.ack(); // twice is fine
    await sleep(1200);
    const again = [await q.take(), await q.take()].map((item) => item?.value).sort();
    expect(again).toEqual(["b", "c"]);
    expect(await q.size()).toBe(2);
  });

  it("a schema validates on push (nothing written) and parses on take; an undecodable item throws with its key and stays", async () => {
    const store = createStore("memory://");
    const q = queue(store, { schema: z.object({ url: z.string() }) });
    expect(codeOf(await q.push({ url: 1 } as never).catch((e) => e))).toBe("VALIDATION");
    expect(await q.size()).toBe(0);
    await store.put("queue/0190a000-0000-7000-8000-000000000000", { url: 5 });
    const error = await q.take().catch((e) => e);
    expect(codeOf(error)).toBe("VALIDATION");
    expect(error.key).toBe("queue/0190a000-0000-7000-8000-000000000000");
    expect(await q.size()).toBe(1);
  });

  it("items never expire by the store's defaultTtl", async () => {
    const store = createStore("memory://", { defaultTtl: 1 });
    const q = queue(store);
    await q.push("kept");
    await sleep(1200);
    expect((await q.take())?.value).toBe("kept");
  });

  it("consume: acks an item when the next is asked for, waits while empty, ends on abort; break leaves the item", async () => {
    const store = createStore("memory://");
    const q = queue<number>(store, { visibility: 1 });
    await q.push(1);
    const controller = new AbortController();
    const seen: number[] = [];
    setTimeout(() => void q.push(2), 100);
    for await (const item of q.consume({ signal: controller.signal, pollInterval: 10 })) {
      seen.push(item.value);
      if (seen.length === 2) controller.abort();
    }
    expect(seen).toEqual([1, 2]);
    expect(await q.size()).toBe(0);
    await q.push(3);
    for await (const item of q.consume()) {
      expect(item.value).toBe(3);
      break;
    }
    expect(await q.size()).toBe(1); // not acked: back after visibility
    await sleep(1200);
    expect((await q.take())?.value).toBe(3);
  });
});

describe("the queue's window of ids", () => {
  async function* listing(ids: string[]): AsyncGenerator<string> {
    for (const id of [...ids].reverse()) yield id; // any order
  }

  it("walks every id in order with a window smaller than the queue, then starts over once", async () => {
    const ids = Array.from({ length: 10 }, (_, i) => `id${i}`);
    const window = new Window(() => listing(ids), 3);
    const pass = window.pass();
    const seen: Array<string | null> = [];
    for (let i = 0; i <= 10; i++) seen.push(await pass.next());
    expect(seen).toEqual([...ids, null]);
    ids.splice(0, 4); // acked meanwhile
    ids.push("id99");
    const next = window.pass();
    expect([await next.next(), await next.next()]).toEqual(["id4", "id5"]);
    window.rewind("id4");
    expect(await next.next()).toBe("id4");
  });
});

describe("rateLimit", () => {
  it("check is count < limit; wait resolves once the window has room", async () => {
    const store = createStore("memory://");
    const limit = rateLimit(store, "mail", { limit: 2, interval: 1, unit: 1 });
    expect(await limit.check()).toBe(true);
    // Two hits in one slot fill it (hits that straddle a slot's end start the next one afresh).
    let hits = 0;
    while (await limit.check()) {
      await limit.hit();
      hits++;
    }
    expect(hits).toBeGreaterThanOrEqual(2);
    await limit.wait();
    expect(await limit.check()).toBe(true);
  });
});
