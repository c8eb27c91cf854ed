/**
 * `sync` and `cached` (SPEC 12) on real stores in Node: the case matrix over memory, fs and
 * anystore+http pairs, bases and pairs, live syncs, and `cached` over anystore+http with the
 * server stopped. Across processes (a server killed mid-sync, the command): sync-processes.test.ts.
 */
import { mkdirSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { memoryDriver } from "../../src/drivers/browser/memory.js";
import type { RunningServer } from "../../src/index.node.js";
import { cached, createStore, serve, sync } from "../../src/index.node.js";
import { rejectsWith } from "../shared/contract.js";
import { snapshot, syncMatrix } from "../shared/sync-matrix.js";

/** Outside test/.tmp, which every vitest run's global setup empties (other runs share this machine). */
let TMP = "";
let counter = 0;
const unique = () => `sync-${process.pid}-${++counter}`;
const freshDir = () => {
  const dir = join(TMP, unique());
  mkdirSync(dir, { recursive: true });
  return dir;
};
const memory = () => createStore(`memory://${unique()}`);
let server: RunningServer;
const http = () => createStore(`anystore+${server.url}/${unique()}`);

beforeAll(async () => {
  TMP = await mkdtemp(join(tmpdir(), "anystore-sync-test-"));
  server = await serve(createStore("memory://"));
});
afterAll(async () => {
  await server.close();
  await rm(TMP, { recursive: true, force: true });
});

describe("sync: the case matrix", () => {
  syncMatrix(
    [
      { name: "memory <-> memory", make: () => [memory(), memory()] },
      { name: "fs <-> memory", make: () => [createStore(freshDir()), memory()] },
      { name: "fs <-> anystore+http", make: () => [createStore(freshDir()), http()] },
      { name: "anystore+http <-> fs (bases kept on the server)", make: () => [http(), createStore(freshDir())] },
    ],
    sync,
  );
});

describe("sync: bases and pairs", () => {
  it("keeps its bases in reserved keys of a: never listed, and the same keys on both sides", async () => {
    const dir = freshDir();
    const a = createStore(dir);
    const b = memory();
    await a.put("x", "1");
    await b.put("y", "2");
    await sync(a, b);
    expect((await snapshot(a)).x).toBe("1");
    expect(Object.keys(await snapshot(a)).sort()).toEqual(["x", "y"]);
    expect(Object.keys(await snapshot(b)).sort()).toEqual(["x", "y"]);
    // They are there on disk all the same.
    const { readdir } = await import("node:fs/promises");
    expect(await readdir(join(dir, ".anystore/sync"))).toContain("pairs");
  });

  it("a b that was wiped (or is another store with the same uri) deletes nothing in a", async () => {
    const a = memory();
    const uri = `memory://${unique()}`;
    const b = createStore(uri);
    await a.put("keep/me", "precious");
    await sync(a, b);
    await b.delete("keep/me");
    // Wipe b's reserved marks too, as a fresh store would have none: the next sync copies again.
    const fresh = createStore(`memory://${unique()}`);
    const result = await sync(a, fresh);
    expect(result).toMatchObject({ deletedInA: 0, copiedToB: 1 });
    expect(await a.get("keep/me")).toBe("precious");
    // b itself (marks intact) did delete the key: that deletion does reach a.
    expect(await sync(a, b)).toMatchObject({ deletedInA: 1 });
  });

  it("an anystore server serves the reserved sync area, and still refuses every other reserved key", async () => {
    const base = server.url.replace(/\/$/, "");
    const put = await fetch(`${base}/${unique()}/.anystore/sync/pairs/x`, { method: "PUT", body: "id" });
    expect(put.status).toBe(201);
    const other = await fetch(`${base}/.anystore/ttl/x`, { method: "PUT", body: "1" });
    expect(other.status).toBe(400);
    const listing = await (await fetch(`${base}/`)).text();
    expect(listing).not.toContain(".anystore");
  });

  it("a run that finds nothing to do writes nothing, not even a base (weak etags are not remembered)", async () => {
    const dir = freshDir();
    const a = createStore(dir);
    const b = http(); // a memory store behind the server: weak etags, compared by checksum
    for (let i = 0; i < 5; i++) await a.put(`k${i}`, `v${i}`);
    await b.put("from-b", "x");
    await sync(a, b);
    const { readdir, stat } = await import("node:fs/promises");
    const bases = async () => {
      const files = (await readdir(join(dir, ".anystore/sync"), { recursive: true, withFileTypes: true })).filter((e) =>
        e.isFile(),
      );
      return Promise.all(files.map(async (e) => `${e.name} ${(await stat(join(e.parentPath, e.name))).mtimeMs}`));
    };
    const before = await bases();
    expect(before.length).toBeGreaterThanOrEqual(6);
    expect(await sync(a, b)).toMatchObject({ copiedToA: 0, copiedToB: 0 });
    expect(await bases()).toEqual(before);
  });

  it("many clients with the same local uri sync with one server: each keeps its own pair", async () => {
    const server = http();
    const client = () => createStore({ uri: "idb://notebook", driver: memoryDriver() });
    const [ada, linus] = [client(), client()];
    await ada.put("notes/scratch", "delete me");
    expect(await sync(ada, server)).toMatchObject({ copiedToB: 1 });
    expect(await sync(linus, server)).toMatchObject({ copiedToA: 1 });
    await linus.delete("notes/scratch");
    expect(await sync(linus, server)).toMatchObject({ deletedInB: 1 });
    // Ada's pair is still known to the server: the deletion reaches her, nothing comes back.
    expect(await sync(ada, server)).toMatchObject({ deletedInA: 1, copiedToB: 0 });
    expect(await server.exists("notes/scratch")).toBe(false);
  });

  it("a server without the reserved sync area (an older one) as b: no mark there, bases in a all the same", async () => {
    const backing = memory();
    // The store as an older server sees it: no reserved area to hand out.
    const withoutArea = new Proxy(backing, {
      get(target, name) {
        if (name === Symbol.for("anystore.reservedArea")) return undefined;
        const value = Reflect.get(target, name, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const older = await serve(withoutArea);
    try {
      const a = memory();
      const b = createStore(`anystore+${older.url}`);
      await a.put("x", "1");
      await b.put("y", "2");
      expect(await sync(a, b)).toMatchObject({ copiedToA: 1, copiedToB: 1, failed: 0 });
      await b.delete("x");
      expect(await sync(a, b)).toMatchObject({ copiedToA: 0, copiedToB: 0, deletedInA: 1 });
    } finally {
      await older.close();
    }
  });

  it("glob and excludePrefix choose the keys on both sides", async () => {
    const a = memory();
    const b = memory();
    for (const key of ["docs/a.md", "docs/b.txt", "docs/drafts/c.md", "other.md"]) await a.put(key, key);
    await b.put("docs/d.md", "from b");
    const result = await sync(a, b, { glob: "docs/**/*.md", excludePrefix: "docs/drafts" });
    expect(result).toMatchObject({ copiedToA: 1, copiedToB: 1 });
    expect(Object.keys(await snapshot(b)).sort()).toEqual(["docs/a.md", "docs/d.md"]);
  });

  it("moves raw bytes, whatever the stores' schema, serializer or defaultTtl", async () => {
    const Note = z.object({ title: z.string() });
    const a = createStore(`memory://${unique()}`, { schema: Note, defaultTtl: 3600 });
    const b = createStore(`memory://${unique()}`, {
      serialize: (v: unknown) => new TextEncoder().encode(JSON.stringify(v)),
      deserialize: (bytes: Uint8Array) => JSON.parse(new TextDecoder().decode(bytes)),
    });
    await a.put("n1", { title: "from a" });
    await b.put("n2", { title: "from b" });
    expect(await sync(a, b)).toMatchObject({ copiedToA: 1, copiedToB: 1, failed: 0 });
    expect(await a.get("n2")).toEqual({ title: "from b" });
    expect(await b.get("n1")).toEqual({ title: "from a" });
    expect(await sync(a, b)).toMatchObject({ copiedToA: 0, copiedToB: 0, failed: 0 });
  });

  it("checks its options before touching anything", async () => {
    await rejectsWith(sync(memory(), memory(), { concurrency: 0 }), "INVALID_ARGUMENT");
    // biome-ignore lint/suspicious/noExplicitAny: a bad value on purpose
    await rejectsWith(sync(memory(), memory(), { conflict: "newest" as any }), "INVALID_ARGUMENT");
  });
});

/** Waits until `check` passes (bounded: the test fails after `ms`), polling every 20 ms. */
async function until(check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("sync: live", () => {
  for (const [name, make] of [
    ["memory <-> fs", () => [memory(), createStore(freshDir())]],
    ["fs <-> anystore+http", () => [createStore(freshDir()), http()]],
  ] as const) {
    it(`${name}: follows both sides until aborted, then resolves with the totals`, async () => {
      const [a, b] = make();
      await a.put("notes/first.md", "before the start");
      const controller = new AbortController();
      const running = sync(a, b, { live: true, signal: controller.signal, debounce: 20, prefix: "notes" });
      await until(
        async () => (await b.exists("notes/first.md")) && (await b.get("notes/first.md")) === "before the start",
      );
      await a.put("notes/second.md", "written on a");
      await until(async () => b.exists("notes/second.md"));
      await b.put("notes/first.md", "edited on b");
      await until(async () => (await a.get("notes/first.md")) === "edited on b");
      await a.delete("notes/second.md");
      await until(async () => !(await b.exists("notes/second.md")));
      await a.put("outside", "not synced");
      controller.abort();
      const result = await running;
      expect(result).toMatchObject({ copiedToB: 2, copiedToA: 1, deletedInB: 1, failed: 0 });
      expect(await b.exists("outside")).toBe(false);
      expect(await snapshot(a, "notes")).toEqual(await snapshot(b, "notes"));
    });
  }

  it("a server that goes away and comes back: the edits made meanwhile arrive", async () => {
    const backing = memory();
    let served = await serve(backing);
    const port = Number(new URL(served.url).port);
    const a = memory();
    const b = createStore(`anystore+${served.url}`, { watchInterval: 100 });
    const controller = new AbortController();
    const running = sync(a, b, { live: true, signal: controller.signal, debounce: 20 });
    try {
      await a.put("one", "1");
      await until(async () => backing.exists("one"));
      await served.close();
      await a.put("two", "written while the server is down");
      await new Promise((resolve) => setTimeout(resolve, 300));
      served = await serve(backing, { port });
      await until(async () => backing.exists("two"), 20_000);
      await backing.put("three", "written on the server");
      await until(async () => a.exists("three"), 20_000);
    } finally {
      controller.abort();
      await running;
      await served.close();
    }
    expect(await snapshot(a)).toEqual(await snapshot(backing));
  }, 40_000);

  it("needs a signal to end it", async () => {
    await rejectsWith(sync(memory(), memory(), { live: true }), "INVALID_ARGUMENT");
  });
});

describe("cached over anystore+http", () => {
  it("reads through local, writes remote first, and answers from local once the server is gone", async () => {
    const served = await serve(createStore("memory://"));
    const remote = createStore(`anystore+${served.url}`);
    const local = memory();
    const store = cached(remote, local);
    await remote.put("seen", "from the server");
    expect(await store.get("seen")).toBe("from the server");
    expect(await local.get("seen")).toBe("from the server");
    await store.put("written", { n: 1 });
    expect(await remote.get("written")).toEqual({ n: 1 });
    expect(await local.get("written")).toEqual({ n: 1 });
    // Fresh forever by default: a change made behind its back is not seen...
    await remote.put("seen", "changed on the server");
    expect(await store.get("seen")).toBe("from the server");
    // ...but with ttl 0 every read asks the server.
    const strict = cached(remote, local, { ttl: 0 });
    expect(await strict.get("seen")).toBe("changed on the server");
    expect(await strict.get("never", { default: "fallback" })).toBe("fallback");
    expect(await collect(store.keys())).toEqual(["seen", "written"]);
    await store.delete("written");
    expect(await local.exists("written")).toBe(false);
    expect(await remote.exists("written")).toBe(false);

    await served.close();
    expect(await strict.get("seen")).toBe("changed on the server");
    expect(await strict.exists("seen")).toBe(true);
    await rejectsWith(strict.get("not-cached"), "CONNECTION");
    await rejectsWith(cached(remote, local, { ttl: 0, staleIfError: false }).get("seen"), "CONNECTION");
    await rejectsWith(strict.put("x", "y"), "CONNECTION");
    expect(await local.exists("x")).toBe(false);
  });

  it("a child is cached under the same prefix on both sides; bad options throw at once", async () => {
    const remote = memory();
    const local = memory();
    await remote.put("p/k", "v");
    expect(await cached(remote, local).child("p").get("k")).toBe("v");
    expect(await local.get("p/k")).toBe("v");
    expect(() => cached(remote, local, { ttl: -1 })).toThrow(/ttl/);
  });
});

async function collect(keys: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const key of keys) out.push(key);
  return out.sort();
}
