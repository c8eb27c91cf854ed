import { describe, expect, it } from "vitest";
import { createStore } from "../../src/index.node.js";
import { memoryDriver } from "../../src/drivers/browser/memory.js";
import { contractSuite, sleep } from "../shared/contract.js";

contractSuite({ name: "memory (node)", make: (options) => createStore("memory://", options) });

describe("memory driver", () => {
  it("memory://NAME shares one map per name; bare memory:// is private", async () => {
    const a = createStore("memory://shared-test");
    const b = createStore("memory://shared-test");
    await a.put("k", 1);
    expect(await b.get("k")).toBe(1);
    const c = createStore("memory://");
    const d = createStore("memory://");
    await c.put("k", 1);
    expect(await d.exists("k")).toBe(false);
  });

  it("reclaims expired entries that are never read again", async () => {
    const driver = memoryDriver();
    const store = createStore({ driver });
    await store.putMany(Array.from({ length: 100 }, (_, i) => [`k${i}`, i] as [string, number]), { ttl: 1 });
    await store.put("keep", 1);
    await sleep(1300);
    // The sweep timer has run: nothing to remove any more, without a single read.
    expect(await store.sweep()).toBe(0);
    expect(await driver.getMany!(["k1", "keep"])).toEqual([null, expect.any(Uint8Array)]);
  });
});
