import { describe, expect, it } from "vitest";
import { z } from "zod";
import { anycache, createStore, isAnystoreError, makeSignatureKey } from "../../src/index.node.js";

/**
 * Keys computed by Python: `sha256(b"".join(banal.cache.bytes_iter((args, kwargs))))`, the body of
 * anystore's `make_signature_key` (sha256 default); the last object of each row is Python's kwargs.
 */
const PYTHON_VECTORS: Array<[unknown[], string]> = [
  [["x"], "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"],
  [[1], "6b86b273ff34fce19d6b804eff5a3f5747ada4eaa22f1d49c01e52ddb7875b4b"],
  [[1, "foo"], "f25fe1d943db0d3853b6931c487128a31c8adb972e15da792f090739ba3f1e06"],
  [["a", "b"], "fb8e20fc2e4c3f248c60c39bd652f3c1347298bb977b8b4d5903b85055620603"],
  [["ab"], "fb8e20fc2e4c3f248c60c39bd652f3c1347298bb977b8b4d5903b85055620603"],
  [[null], "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"],
  [[null, "x"], "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"],
  [[[3, 1, 2]], "a665a45920422f9d417e4867efdc4fb8a04a1f3fff1fa07e998e86f7f7a27ae3"],
  [[["b", "a", "c"]], "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"],
  [[{ b: 2, a: 1 }], "85337816d263d362acb23a4255a636191075c2a90c47f2ee6db3362f7df11203"],
  [[{ a: [2, 1], b: { d: null, c: "x" } }], "98ae6798cd35309c0acbd5e8f3408be02fcdbc220393bdc5ec2327d1ae053dda"],
  [[[1, "a"]], "a73fcf339640929207281fb8e038884806e2eb0840f2245694dbba1d5cc89e65"],
  [
    [
      [
        [2, 1],
        [1, 5],
      ],
    ],
    "66c03337b22c301d55a339a94165dc09628491c3dfe01a57ef62e3eab452e898",
  ],
  [[true, false], "7ce28d57307c44bf45cb70ae2d7162c5f0adeaadda3ad1fe7c0f988cd129229e"],
  [[1.5], "9f29a130438b81170b92a42650f9a94291ecad60bd47af2a3886e75f7f728725"],
  [[0.1], "14be4b45f18e0d8c67b4f719b5144eee88497e413709d11d85b096d8e2346310"],
  [[1e-7], "e485fac25775a7da830698e7daac582737fc8b43ba4b351467a16cf8ed83122a"],
  [[1e22], "814a97daeb45416e24befc0ae9a6414ac2f41f269a9f2f019fc65a0d03725f34"],
  [[-2.5e-5], "cc32352df8dd104c720a797b11b2426751475110626264d2ccf2720d8a2da71c"],
  [[123456789012.5], "2c5d42e76b0afc5308142c969c130bc939385abba9f8509d833373942eb4c2d3"],
  [[[{ b: 1 }, { a: 2 }]], "7b25b0569f4e414046e030485b164de13a0b650584ee467067750cdc8ac7b34a"],
  [["ü€😀"], "bec2d3e7c2047c817dc4c8c4e13f7a4801bb0c7f8798e3ac3e2fd65d71cb4993"],
  [[["é", "z", "😀", "￿"]], "08bd45e0884ed19c8c2928f0a97095d4426d80a9a63af140d463f278f1b1f4ad"],
  [[0], "5feceb66ffc86f38d952786c6d696c79c2dbc239dd4e91b46729d73a27fb57e9"],
  [[-17], "d3471dcc109cd382f5e09a64253c2219958b5f8f07371fba48ac81fed97bb18a"],
  [[[]], "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"],
  [[{}], "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"],
  [[[null]], "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"],
  [[[null, null]], "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"],
  [[[1.5, 1, 0.5]], "84037ad1be63caf17e181b437785aee53101ca31eb8f88c1def64de35d630ecc"],
  [[[true, 0, 2]], "c7cb5fa58d9aad89c96ad75c92efdf36846a2bc920749d16aaa334eccd85d946"],
  [
    [
      [
        [1, "a"],
        [1, 2],
      ],
    ],
    "4df37fc90607b081db1affc556719a1a93f349c9f0f1783b233dd22d38089ee4",
  ],
  [[1, "foo", { bar: "baz" }], "98a0ecedd0624f7803c0256e5a040c058e99a78279f40962819ffbe1ca0d0897"],
  [[new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 678))], "01a3e01e3f01e7dcdc0b7a5ae5367d74d5869460402bfa152d7ff618e945dc93"],
  [[new Date(Date.UTC(2024, 0, 2, 3, 4, 5))], "4940d0ac18b0aebd556a5fd37ae960fafd318fc5554a4a031e8d35456f345070"],
  [[new Uint8Array([0, 255])], "06eb7d6a69ee19e5fbdf749018d3d2abfa04bcbd1365db312eb86dc7169389b8"],
  [[9007199254740994], "48d5921c6f799acbfe21a957a19e41a45844608966d197472cacc67b91020507"],
];

let counter = 0;
const memory = () => createStore(`memory://cache-test-${process.pid}-${++counter}`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("makeSignatureKey", () => {
  it("matches the issue's vectors", () => {
    expect(makeSignatureKey("x")).toBe("2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881");
    expect(makeSignatureKey(1)).toBe("6b86b273ff34fce19d6b804eff5a3f5747ada4eaa22f1d49c01e52ddb7875b4b");
  });

  it.each(PYTHON_VECTORS)("equals Python's key for %j", (args, key) => {
    expect(makeSignatureKey(...args)).toBe(key);
  });

  it("ignores object key order and treats undefined as None", () => {
    expect(makeSignatureKey({ a: 1, b: [2, 1] })).toBe(makeSignatureKey({ b: [1, 2], a: 1 }));
    expect(makeSignatureKey(undefined, "x")).toBe(makeSignatureKey("x"));
    expect(makeSignatureKey({ a: 1, b: undefined })).toBe(makeSignatureKey({ a: 1 }));
  });

  it("refuses cycles with a typed error", () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => makeSignatureKey(cyclic)).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
  });
});

describe("anycache", () => {
  it("stores under the signature key and reads it back", async () => {
    const store = memory();
    let calls = 0;
    const double = anycache(
      async (n: number) => {
        calls++;
        return { n: n * 2 };
      },
      { store },
    );
    expect(await double(21)).toEqual({ n: 42 });
    expect(await double(21)).toEqual({ n: 42 });
    expect(calls).toBe(1);
    expect(await store.get(makeSignatureKey(21))).toEqual({ n: 42 });
    expect(await double(1)).toEqual({ n: 2 });
    expect(calls).toBe(2);
  });

  it("runs fn once for a stampede of 100 concurrent calls with one key", async () => {
    const store = memory();
    let calls = 0;
    const slow = anycache(
      async (id: string) => {
        calls++;
        await sleep(20);
        return `value of ${id}`;
      },
      { store },
    );
    const results = await Promise.all(Array.from({ length: 100 }, () => slow("same")));
    expect(calls).toBe(1);
    expect(new Set(results)).toEqual(new Set(["value of same"]));
    await Promise.all(Array.from({ length: 10 }, (_, i) => slow(`k${i % 2}`)));
    expect(calls).toBe(3);
  });

  it("never caches errors: every caller sees the error and the next call retries", async () => {
    const store = memory();
    let calls = 0;
    const flaky = anycache(
      async (x: number) => {
        calls++;
        await sleep(5);
        if (calls === 1) throw new Error("boom");
        return x;
      },
      { store },
    );
    const first = await Promise.allSettled([flaky(7), flaky(7), flaky(7)]);
    expect(first.every((r) => r.status === "rejected" && (r.reason as Error).message === "boom")).toBe(true);
    expect(calls).toBe(1);
    expect(await store.exists(makeSignatureKey(7))).toBe(false);
    expect(await flaky(7)).toBe(7);
    expect(calls).toBe(2);
  });

  it("uses a custom key; a null key bypasses the cache", async () => {
    const store = memory();
    let calls = 0;
    const lookup = anycache(
      (name: string) => {
        calls++;
        return name.toUpperCase();
      },
      { store, key: (name) => (name.startsWith("nocache") ? null : `users/${name}`) },
    );
    expect(await lookup("ada")).toBe("ADA");
    expect(await lookup("ada")).toBe("ADA");
    expect(await store.get("users/ada")).toBe("ADA");
    await lookup("nocache-1");
    await lookup("nocache-1");
    expect(calls).toBe(3);
    expect([...(await store.getMany(["nocache-1"])).keys()]).toEqual([]);
  });

  it("expires entries after ttl seconds", async () => {
    const store = memory();
    let calls = 0;
    const now = anycache(() => ++calls, { store, ttl: 1 });
    expect(await now()).toBe(1);
    expect(await now()).toBe(1);
    await sleep(1100);
    expect(await now()).toBe(2);
  });

  it("validates and parses with a zod schema; a stale entry that fails the schema is recomputed", async () => {
    const store = memory();
    const User = z.object({ id: z.number(), name: z.string() });
    let calls = 0;
    const getUser = anycache(
      async (id: number) => {
        calls++;
        return { id, name: `user ${id}` };
      },
      { store, schema: User, key: (id) => `user/${id}` },
    );
    await store.put("user/1", { id: "not a number" });
    expect(await getUser(1)).toEqual({ id: 1, name: "user 1" });
    expect(calls).toBe(1);
    expect(await getUser(1)).toEqual({ id: 1, name: "user 1" });
    expect(calls).toBe(1);

    const bad = anycache(async () => ({ id: "x" }) as unknown as z.infer<typeof User>, {
      store,
      schema: User,
      key: () => "user/bad",
    });
    const error = await bad().catch((e: unknown) => e);
    expect(isAnystoreError(error, "VALIDATION")).toBe(true);
    expect(await store.exists("user/bad")).toBe(false);
  });

  it("useCache: false always runs fn and refreshes the stored value", async () => {
    const store = memory();
    let calls = 0;
    const fresh = anycache(() => ++calls, { store, useCache: false, key: () => "counter" });
    expect(await fresh()).toBe(1);
    expect(await fresh()).toBe(2);
    expect(await store.get("counter")).toBe(2);
    const cached = anycache(() => ++calls, { store, key: () => "counter" });
    expect(await cached()).toBe(2);
  });

  it("honours serialization: raw keeps bytes", async () => {
    const store = memory();
    const bytes = anycache(async () => new Uint8Array([1, 2, 3]), { store, serialization: "raw", key: () => "b" });
    expect(await bytes()).toEqual(new Uint8Array([1, 2, 3]));
    expect(await bytes()).toEqual(new Uint8Array([1, 2, 3]));
  });
});
