import { describe, expect, it } from "vitest";
import { memoryDriver } from "../../src/drivers/browser/memory.js";
import { createStore } from "../../src/index.node.js";
import { contractSuite, readAll, sleep } from "../shared/contract.js";

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
    await store.putMany(
      Array.from({ length: 100 }, (_, i) => [`k${i}`, i] as [string, number]),
      { ttl: 1 },
    );
    await store.put("keep", 1);
    await sleep(1300);
    // The sweep timer has run: nothing to remove any more, without a single read.
    expect(await store.sweep()).toBe(0);
    expect(await driver.getMany!(["k1", "keep"])).toEqual([null, expect.any(Uint8Array)]);
  });
});

describe("memory driver: values kept as the text they came as", () => {
  const pair = (name: string) => ({
    auto: createStore(`memory://${name}`),
    raw: createStore(`memory://${name}`, { serialization: "raw" }),
    json: createStore(`memory://${name}`, { serialization: "json" }),
  });

  it("reads back exactly what a UTF-8 round trip gives, in every mode", async () => {
    const { auto, raw, json } = pair("text-modes");
    await auto.put("n", "123");
    expect(await auto.get("n")).toBe(123);
    expect(await json.get("n")).toBe(123);
    expect(await raw.get("n")).toEqual(new TextEncoder().encode("123"));
    await auto.put("s", "héllo");
    expect(await auto.get("s")).toBe("héllo");
    expect((await auto.info("s")).size).toBe(6);
    await json.put("j", "héllo");
    expect(await json.get("j")).toBe("héllo");
    expect(await raw.get("j")).toEqual(new TextEncoder().encode('"héllo"'));
    await auto.put("bom", "\uFEFF{}");
    expect(await auto.get("bom")).toBe("\uFEFF{}");
  });

  it("stores a string with a lone surrogate as its UTF-8 (U+FFFD), like every other driver", async () => {
    const { auto } = pair("text-surrogate");
    await auto.put("k", "a\uD800b");
    expect(await auto.get("k")).toBe("a\uFFFDb");
    expect((await auto.info("k")).size).toBe(5);
  });

  it("never hands out an object or bytes the store keeps", async () => {
    const { auto, raw } = pair("text-alias");
    await auto.put("o", { a: 1 });
    const first = (await auto.get("o")) as { a: number };
    first.a = 2;
    expect(await auto.get("o")).toEqual({ a: 1 });
    expect((await auto.getMany(["o"])).get("o")).toEqual({ a: 1 });
    const mine = new Uint8Array([1, 2, 3]);
    await raw.put("b", mine);
    mine[0] = 9;
    const got = (await raw.get("b")) as Uint8Array;
    got[1] = 9;
    expect(await raw.get("b")).toEqual(new Uint8Array([1, 2, 3]));
    await raw.put("t", "abc");
    const bytes = (await raw.get("t")) as Uint8Array;
    bytes[0] = 0;
    expect(await auto.get("t")).toBe("abc");
  });

  it("putMany and getMany agree with put and get", async () => {
    const { auto, raw } = pair("text-batch");
    await auto.putMany([
      ["a", "1"],
      ["b", "x"],
      ["c", new Uint8Array([0xff])],
    ]);
    expect([...(await auto.getMany(["a", "b", "c", "missing"]))]).toEqual([
      ["a", 1],
      ["b", "x"],
      ["c", new Uint8Array([0xff])],
    ]);
    expect(await raw.getMany(["b"])).toEqual(new Map([["b", new TextEncoder().encode("x")]]));
  });

  it("overwrites with bytes of the same size never reach a value read before, whole or streamed", async () => {
    const { raw } = pair("bytes-overwrite");
    const first = new Uint8Array(200_000).fill(1);
    await raw.put("k", first);
    const got = (await raw.get("k")) as Uint8Array;
    const stream = await raw.open("k");
    const popped = createStore("memory://bytes-overwrite", { serialization: "raw" });
    await raw.put("k", new Uint8Array(200_000).fill(2));
    expect(got).toEqual(first);
    expect(await readAll(stream)).toEqual(first);
    expect(await popped.pop("k")).toEqual(new Uint8Array(200_000).fill(2));
    expect(await raw.exists("k")).toBe(false);
    expect(await raw.pop("k", { default: "none" })).toBe("none");
  });
});

describe("ValidationError messages", () => {
  it("name the first issue's path and message, and how many more there are", async () => {
    const { z } = await import("zod");
    const store = createStore("memory://", { schema: z.object({ title: z.string(), tags: z.array(z.string()) }) });
    const error = await store.put("k", { title: 1, tags: ["a", 2] } as never).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: "ValidationError", code: "VALIDATION", key: "k" });
    expect((error as Error).message).toMatch(
      /^value does not match the schema: at title: .*expected string.* \(and 1 more\)$/,
    );
    expect((error as { issues: unknown[] }).issues).toHaveLength(2);

    await createStore("memory://validation-root").put("k", [1, 2]);
    const root = createStore("memory://validation-root", { schema: z.object({ title: z.string() }) });
    const stored = await root.get("k").catch((e: unknown) => e);
    expect((stored as Error).message).toMatch(/^stored value does not match the schema: (?!at )\S.*expected object/);
  });
});
