import { mkdirSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Driver, MirrorProgress, Store } from "../../src/index.node.js";
import { createStore, mirror, UnsupportedError } from "../../src/index.node.js";

/** Outside test/.tmp, which every vitest run's global setup empties (other runs share this machine). */
let TMP = "";
beforeAll(async () => {
  TMP = await mkdtemp(join(tmpdir(), "anystore-mirror-test-"));
});
afterAll(() => rm(TMP, { recursive: true, force: true }));
let counter = 0;
const unique = () => `mirror-${process.pid}-${++counter}`;
const freshDir = () => {
  const dir = join(TMP, unique());
  mkdirSync(dir, { recursive: true });
  return dir;
};
const memory = () => createStore(`memory://${unique()}`);

const BIG = new Uint8Array(1024 * 1024 + 7).map((_, i) => (i * 31) % 251);
const ENTRIES: Array<[string, Uint8Array | string]> = [
  ["a.txt", "alpha"],
  ["docs/readme.md", "# readme\n"],
  ["docs/deep/nested/file.json", '{"deep":true}'],
  ["bin/blob", new Uint8Array([0, 1, 2, 255, 254])],
  ["bin/big.bin", BIG],
  ["empty", new Uint8Array(0)],
  ["logs/2026/01.log", "line 1\nline 2\n"],
  ["logs/2026/02.log", "line 3\n"],
];
const asBytes = (v: Uint8Array | string) => (typeof v === "string" ? new TextEncoder().encode(v) : v);
/** vitest's deep equality walks a 1 MiB array element by element (tens of seconds): compare as Buffers. */
const sameBytes = (a: unknown, b: Uint8Array) => a instanceof Uint8Array && Buffer.from(a).equals(Buffer.from(b));
const TOTAL = ENTRIES.reduce((n, [, v]) => n + asBytes(v).byteLength, 0);

// biome-ignore lint/suspicious/noExplicitAny: stores of any value type
async function fill(store: Store<any>): Promise<void> {
  for (const [key, value] of ENTRIES) await store.put(key, asBytes(value));
}

// biome-ignore lint/suspicious/noExplicitAny: stores of any value type
async function expectSameBytes(target: Store<any>, keys = ENTRIES.map(([k]) => k)): Promise<void> {
  for (const key of keys) {
    const value = ENTRIES.find(([k]) => k === key)![1];
    expect(sameBytes(await target.get(key, { serialization: "raw" }), asBytes(value)), key).toBe(true);
  }
}

// biome-ignore lint/suspicious/noExplicitAny: stores of any value type
async function allKeys(store: Store<any>): Promise<string[]> {
  const keys: string[] = [];
  for await (const key of store.keys()) keys.push(key);
  return keys.sort();
}

/** A driver whose reads drip one chunk every 10 ms, forever (to abort mid-copy), and fail for `broken/*`. */
function slowDriver(keys: string[]): Driver {
  return {
    name: "slow",
    capabilities: { streams: true },
    get: async () => null,
    put: async () => {},
    delete: async () => {},
    async *list() {
      yield* keys;
    },
    async read(key) {
      if (key.startsWith("broken/")) throw new Error(`cannot read ${key}`);
      return new ReadableStream<Uint8Array>({
        pull: (controller) =>
          new Promise((resolve) => setTimeout(resolve, 10)).then(() => controller.enqueue(new Uint8Array(1024))),
      });
    },
  };
}

describe("mirror", () => {
  it("copies memory -> fs byte for byte, with the same layout on disk", async () => {
    const source = memory();
    await fill(source);
    const dir = freshDir();
    const target = createStore(dir);
    const result = await mirror(source, target, { concurrency: 4 });
    expect(result).toMatchObject({ mirrored: ENTRIES.length, skipped: 0, failed: 0, bytes: TOTAL });
    expect(result.took).toBeGreaterThanOrEqual(0);
    expect(await allKeys(target)).toEqual(ENTRIES.map(([k]) => k).sort());
    await expectSameBytes(target);
    expect(sameBytes(await readFile(join(dir, "bin/big.bin")), BIG)).toBe(true);
  });

  it("copies fs -> sqlite and back, byte for byte", async () => {
    const source = createStore(freshDir());
    await fill(source);
    const sqlite = createStore(`sqlite:///${join(freshDir(), "mirror.db")}`);
    try {
      expect(await mirror(source, sqlite, { concurrency: 4 })).toMatchObject({
        mirrored: ENTRIES.length,
        bytes: TOTAL,
      });
      await expectSameBytes(sqlite);
      const back = createStore(freshDir());
      expect(await mirror(sqlite, back)).toMatchObject({ mirrored: ENTRIES.length, failed: 0, bytes: TOTAL });
      await expectSameBytes(back);
      expect(await mirror(source, sqlite)).toMatchObject({ mirrored: 0, skipped: ENTRIES.length });
    } finally {
      await sqlite.close();
    }
  });

  it("skips existing keys unless overwrite", async () => {
    const source = memory();
    await fill(source);
    const target = createStore(freshDir());
    await mirror(source, target);
    await source.put("a.txt", "changed");
    const again = await mirror(source, target);
    expect(again).toMatchObject({ mirrored: 0, skipped: ENTRIES.length, failed: 0, bytes: 0 });
    expect(await target.get("a.txt")).toBe("alpha");
    const forced = await mirror(source, target, { overwrite: true });
    expect(forced).toMatchObject({ mirrored: ENTRIES.length, skipped: 0, bytes: TOTAL - 5 + 7 });
    expect(await target.get("a.txt")).toBe("changed");
  });

  it("skips existing keys in a target that cannot list (asking exists per key)", async () => {
    const source = memory();
    await fill(source);
    const kept = new Map<string, Uint8Array>([["a.txt", new TextEncoder().encode('"kept"')]]);
    const unlistable: Driver = {
      name: "unlistable",
      capabilities: { list: false, ttl: false },
      get: async (key) => kept.get(key) ?? null,
      put: async (key, value) => void kept.set(key, value.slice()),
      delete: async (key) => void kept.delete(key),
      list: () => {
        throw new UnsupportedError("cannot list");
      },
    };
    const target = createStore({ driver: unlistable, uri: "unlistable://" });
    const result = await mirror(source, target);
    expect(result).toMatchObject({ mirrored: ENTRIES.length - 1, skipped: 1, failed: 0 });
    expect(await target.get("a.txt")).toBe("kept");
    expect(kept.size).toBe(ENTRIES.length);
  });

  it("copies fs -> memory, honouring prefix, excludePrefix and glob", async () => {
    const source = createStore(freshDir());
    await fill(source);
    const byPrefix = memory();
    expect((await mirror(source, byPrefix, { prefix: "logs" })).mirrored).toBe(2);
    expect(await allKeys(byPrefix)).toEqual(["logs/2026/01.log", "logs/2026/02.log"]);
    await expectSameBytes(byPrefix, ["logs/2026/01.log", "logs/2026/02.log"]);

    const byGlob = memory();
    await mirror(source, byGlob, { glob: "**/*.{md,json}" });
    expect(await allKeys(byGlob)).toEqual(["docs/deep/nested/file.json", "docs/readme.md"]);

    const excluded = memory();
    await mirror(source, excluded, { excludePrefix: "bin" });
    expect(await allKeys(excluded)).toEqual(
      ENTRIES.map(([k]) => k)
        .filter((k) => !k.startsWith("bin"))
        .sort(),
    );
  });

  it("reports progress per key, with running counts and bytes", async () => {
    const source = memory();
    await fill(source);
    const target = memory();
    await target.put("a.txt", "already there");
    const events: MirrorProgress[] = [];
    const result = await mirror(source, target, { concurrency: 3, onProgress: (p) => events.push(p) });
    expect(events).toHaveLength(ENTRIES.length);
    expect(events.map((e) => e.done)).toEqual(ENTRIES.map((_, i) => i + 1));
    expect(events.find((e) => e.key === "a.txt")?.status).toBe("skipped");
    const last = events.at(-1)!;
    expect(last).toMatchObject({ mirrored: ENTRIES.length - 1, skipped: 1, failed: 0, bytes: TOTAL - 5 });
    expect(result.bytes).toBe(TOTAL - 5);
  });

  it("counts a failing key and goes on with the rest", async () => {
    const source = createStore({ driver: slowDriver(["broken/one", "broken/two"]) });
    const target = memory();
    const result = await mirror(source, target);
    expect(result).toMatchObject({ mirrored: 0, failed: 2 });
    expect(result.errors.map((e) => e.key).sort()).toEqual(["broken/one", "broken/two"]);
  });

  it("aborts: rejects with the signal's reason and leaves no partial value", async () => {
    const source = createStore({ driver: slowDriver(["endless/a", "endless/b"]) });
    const target = createStore(freshDir());
    await target.put("endless/a", "old value");
    const controller = new AbortController();
    const started = mirror(source, target, { signal: controller.signal, overwrite: true });
    setTimeout(() => controller.abort(), 60);
    const error = await started.catch((e: unknown) => e);
    expect((error as Error).name).toBe("AbortError");
    expect(await target.get("endless/a")).toBe("old value");
    expect(await target.exists("endless/b")).toBe(false);
    expect(await allKeys(target)).toEqual(["endless/a"]);

    const already = AbortSignal.abort();
    await expect(mirror(memory(), memory(), { signal: already })).rejects.toMatchObject({ name: "AbortError" });
  });

  it("stops after 5 keys in a row fail with one store-wide cause, and rejects with it once", async () => {
    const source = memory();
    await source.putMany(Array.from({ length: 200 }, (_, i): [string, string] => [`k/${i}`, "v"]));
    const failures: MirrorProgress[] = [];
    const readonly = createStore(`memory://${unique()}`, { readonly: true });
    const error = (await mirror(source, readonly, {
      concurrency: 2,
      onProgress: (p) => p.status === "failed" && failures.push(p),
    }).catch((e: unknown) => e)) as Error & { code: string };
    expect(error.name).toBe("ReadOnlyError");
    expect(error.code).toBe("READ_ONLY");
    expect(error.message).toMatch(
      /is readonly \(mirror stopped: 5 keys in a row failed with this; 0 mirrored, 0 skipped\)$/,
    );
    // Stopped: the keys in flight when the run reached 5 failed too, no others were tried.
    expect(failures.length).toBeGreaterThanOrEqual(5);
    expect(failures.length).toBeLessThanOrEqual(6);

    // A closed port: the target cannot be reached. With overwrite, mirror does not list the
    // target first, so it is the run of failing writes that stops it.
    const unreachable = createStore("redis://127.0.0.1:1/0/first-mirror", { connectTimeout: 500 });
    const refused = await mirror(source, unreachable, { overwrite: true }).catch((e: unknown) => e);
    expect(refused).toMatchObject({ name: "ConnectionError", code: "CONNECTION" });
    expect((refused as Error).message).toContain("mirror stopped: 5 keys in a row failed with this");
    // Without it, listing the target fails first: the same error, once, before any key.
    const listed = await mirror(source, unreachable).catch((e: unknown) => e);
    expect(listed).toMatchObject({ name: "ConnectionError", code: "CONNECTION" });
    await unreachable.close();
  });

  it("goes on when failures are each key's own, or stopAfterFailures is 0", async () => {
    const source = memory();
    await source.putMany(Array.from({ length: 20 }, (_, i): [string, string] => [`k/${i}`, "v"]));
    const readonly = createStore(`memory://${unique()}`, { readonly: true });
    const result = await mirror(source, readonly, { stopAfterFailures: 0 });
    expect(result).toMatchObject({ mirrored: 0, failed: 20 });

    const broken = createStore({
      driver: slowDriver(["broken/1", "broken/2", "broken/3", "broken/4", "broken/5", "broken/6"]),
    });
    expect(await mirror(broken, memory())).toMatchObject({ failed: 6 });
  });

  it("rejects a bad concurrency with a typed error", async () => {
    await expect(mirror(memory(), memory(), { concurrency: 0 })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });
});
