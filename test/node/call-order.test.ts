/**
 * Calls issued together reach the driver in the order they were made (IndexedDB shares one
 * transaction among them and relies on it): before the driver is loaded, after, and while the
 * store's less used half (lazy-ops.ts, which pop and the batches need) is still loading.
 */
import { beforeEach, describe, expect, it, vi } from "vitest";
import type { Driver, Store } from "../../src/index.node.js";

type Recorded = "get" | "put" | "delete" | "has" | "getMany" | "putMany" | "deleteMany";

/** Fresh copies of the modules, so lazy-ops.ts is not loaded yet. */
async function fresh() {
  vi.resetModules();
  const { createStore } = await import("../../src/index.node.js");
  const { memoryDriver } = await import("../../src/drivers/browser/memory.js");
  return { createStore, memoryDriver };
}

/** A memory driver without the in-process side door, recording each call and its first key. */
function recording(inner: Driver): { driver: Driver; calls: string[] } {
  const calls: string[] = [];
  const record = (name: Recorded) => {
    const method = (inner[name] as (...args: unknown[]) => unknown).bind(inner);
    return (...args: unknown[]) => {
      const first = args[0] as string | string[] | Array<[string, Uint8Array]>;
      calls.push(`${name} ${typeof first === "string" ? first : Array.isArray(first[0]) ? first[0][0] : first[0]}`);
      return method(...args);
    };
  };
  const methods = Object.fromEntries(
    (["get", "put", "delete", "has", "getMany", "putMany", "deleteMany"] as const).map((name) => [name, record(name)]),
  );
  const driver = {
    name: "recording",
    capabilities: inner.capabilities,
    sharesBuffers: true,
    list: inner.list!.bind(inner),
    ...methods,
  } as Driver;
  return { driver, calls };
}

/** Hot and lazy calls, issued together. */
function round(store: Store) {
  return Promise.all([
    store.put("a", 1),
    store.putMany([["b", 2]]),
    store.put("c", 3),
    store.getMany(["a"]),
    store.get("b"),
    store.pop("c"),
    store.delete("a"),
    store.deleteMany(["b"]),
    store.exists("c"),
  ]);
}

// pop deletes once its get has answered, so its delete comes last.
const IN_ORDER = [
  "put a",
  "putMany b",
  "put c",
  "getMany a",
  "get b",
  "get c",
  "delete a",
  "deleteMany b",
  "has c",
  "delete c",
];
const RESULTS = [undefined, undefined, undefined, new Map([["a", 1]]), 2, 3, undefined, undefined, true];

describe("call order", () => {
  let modules: Awaited<ReturnType<typeof fresh>>;
  beforeEach(async () => {
    modules = await fresh();
  });

  /** A store over a recording driver. */
  const recorded = () => {
    const { driver, calls } = recording(modules.memoryDriver());
    return { store: modules.createStore({ driver }), calls };
  };

  /** One round of calls issued together: each answers as it should, and they reached the driver in order. */
  async function expectRoundInOrder(store: Store, calls: string[]) {
    calls.length = 0;
    expect(await round(store)).toEqual(RESULTS);
    expect(calls).toEqual(IN_ORDER);
  }

  it("holds on a new store, whose driver and lazy half both load", async () => {
    const { store, calls } = recorded();
    await expectRoundInOrder(store, calls);
    await expectRoundInOrder(store, calls);
  });

  it("holds on a loaded driver while the lazy half loads", async () => {
    const { store, calls } = recorded();
    await store.put("x", 0);
    await expectRoundInOrder(store, calls);
  });

  it("holds on a new store once the lazy half is loaded", async () => {
    await modules.createStore({ driver: modules.memoryDriver() }).getMany(["x"]);
    const { store, calls } = recorded();
    await expectRoundInOrder(store, calls);
  });

  it("holds for every kind of call on a loaded store (none takes an extra step)", async () => {
    const { store, calls } = recorded();
    await store.put("a", 0);
    calls.length = 0;
    await Promise.all([
      store.delete("a"),
      store.put("a", 1),
      store.exists("a"),
      store.deleteMany(["a"]),
      store.putMany([["a", 2]]),
    ]);
    expect(calls).toEqual(["delete a", "put a", "has a", "deleteMany a", "putMany a"]);
    expect(await store.get("a")).toBe(2);
  });
});
