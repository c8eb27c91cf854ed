import { mkdirSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createStorage } from "unstorage";
import fsDriver from "unstorage/drivers/fs";
import memoryDriver from "unstorage/drivers/memory";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createStore, fromUnstorage, toUnstorage } from "../../src/index.node.js";
import { collectKeys, contractSuite } from "../shared/contract.js";
import { waitFor } from "../shared/contract-watch.js";

/** Outside test/.tmp, which every vitest run's global setup empties (other runs share this machine). */
let TMP = "";
beforeAll(async () => {
  TMP = await mkdtemp(join(tmpdir(), "anystore-unstorage-test-"));
});
afterAll(() => rm(TMP, { recursive: true, force: true }));
let counter = 0;
const freshDir = () => {
  const dir = join(TMP, `u-${++counter}`);
  mkdirSync(dir, { recursive: true });
  return dir;
};

contractSuite({
  name: "fromUnstorage(memory driver)",
  make: (options) => createStore({ ...options, uri: "unstorage-memory://", driver: fromUnstorage(memoryDriver()) }),
});

contractSuite({
  name: "fromUnstorage(fs driver)",
  make: (options) =>
    createStore({ ...options, uri: "unstorage-fs://", driver: fromUnstorage(fsDriver({ base: freshDir() })) }),
});

// Both adapters at once: an anystore memory store, mounted in an unstorage Storage, read back as anystore.
contractSuite({
  name: "fromUnstorage(createStorage + toUnstorage(memory store))",
  make: (options) => {
    const storage = createStorage();
    storage.mount("inner", toUnstorage(createStore(`memory://unstorage-${process.pid}-${++counter}`)));
    return createStore({ ...options, uri: "unstorage-storage://", driver: fromUnstorage(storage), prefix: "inner" });
  },
});

const utf8 = (text: string) => new TextEncoder().encode(text);

describe("fromUnstorage", () => {
  it("watches through unstorage's own events where it has them (a Storage), with anystore keys", async () => {
    const storage = createStorage({ driver: memoryDriver() });
    const store = createStore({ uri: "unstorage-storage://", driver: fromUnstorage(storage), prefix: "notes" });
    expect((await store.capabilities()).watch).toBe(true);
    const events = store.watch();
    await events.ready;
    await storage.setItem("elsewhere:x", "not ours");
    await storage.setItem("notes:a:b", "written through unstorage");
    expect(await waitFor(events, { type: "put", key: "a/b" })).toEqual(["put a/b"]);
    await storage.removeItem("notes:a:b");
    expect(await waitFor(events, { type: "delete", key: "a/b" })).toEqual(["delete a/b"]);
    await events.return?.();
    await storage.dispose();
  });

  it("keeps the file layout of unstorage's fs driver both ways", async () => {
    const dir = freshDir();
    const store = createStore({ uri: "unstorage-fs://", driver: fromUnstorage(fsDriver({ base: dir })) });
    await store.put("a/b.json", { ok: true });
    expect(await readFile(join(dir, "a/b.json"), "utf8")).toBe('{"ok":true}');
    const storage = createStorage({ driver: fsDriver({ base: dir }) });
    await storage.setItem("x:y.txt", "written by unstorage");
    expect(await store.get("x/y.txt")).toBe("written by unstorage");
    expect(await collectKeys(store.keys())).toEqual(["a/b.json", "x/y.txt"]);
    expect(await collectKeys(store.keys({ prefix: "x" }))).toEqual(["x/y.txt"]);
    const info = await store.info("a/b.json");
    expect(info.size).toBe(11);
    expect(info.updatedAt).toBeInstanceOf(Date);
  });

  it("round-trips bytes through unstorage's memory driver, readable from unstorage too", async () => {
    const driver = memoryDriver();
    const store = createStore({ uri: "unstorage-memory://", driver: fromUnstorage(driver) });
    const binary = new Uint8Array([0, 255, 1, 254]);
    await store.put("bin/x", binary);
    const input = new Uint8Array([7, 7]);
    await store.put("copy", input);
    input[0] = 0;
    expect(await store.get("bin/x")).toEqual(binary);
    expect(await store.get("copy", { serialization: "raw" })).toEqual(new Uint8Array([7, 7]));
    const storage = createStorage({ driver });
    expect(new Uint8Array((await storage.getItemRaw("bin:x")) as Uint8Array)).toEqual(binary);
    await storage.setItem("from:unstorage", { n: 1 });
    expect(await store.get("from/unstorage")).toEqual({ n: 1 });
    // A literal colon travels as %3A: unstorage would split on it.
    await store.put("a:b", "colon");
    expect(await storage.getKeys()).toContain("a%3Ab");
    expect(await collectKeys(store.keys())).toContain("a:b");
  });

  it("stores bytes as unstorage's base64: strings on a driver without raw methods", async () => {
    const data = new Map<string, string>();
    const stringsOnly = {
      name: "strings-only",
      hasItem: (key: string) => data.has(key),
      getItem: (key: string) => data.get(key) ?? null,
      setItem: (key: string, value: string) => void data.set(key, value),
      removeItem: (key: string) => void data.delete(key),
      getKeys: () => [...data.keys()],
    };
    const store = createStore({ uri: "unstorage-strings://", driver: fromUnstorage(stringsOnly) });
    const binary = new Uint8Array([0, 128, 255]);
    await store.put("k", binary);
    expect(data.get("k")).toBe("base64:AID/");
    expect(await store.get("k")).toEqual(binary);
    // unstorage itself decodes it the same way.
    expect(new Uint8Array((await createStorage({ driver: stringsOnly }).getItemRaw("k")) as Uint8Array)).toEqual(
      binary,
    );
    await store.delete("k");
    expect(await store.exists("k")).toBe(false);
  });
});

describe("toUnstorage", () => {
  it("mounts an anystore fs store in createStorage with the same layout", async () => {
    const dir = freshDir();
    const store = createStore(dir);
    const storage = createStorage();
    storage.mount("files", toUnstorage(store));

    await storage.setItem("files:reports:2026.json", { total: 3 });
    expect(await readFile(join(dir, "reports/2026.json"), "utf8")).toBe('{"total":3}');
    expect(await storage.getItem("files:reports:2026.json")).toEqual({ total: 3 });
    expect(await store.get("reports/2026.json")).toEqual({ total: 3 });

    await writeFile(join(dir, "reports", "notes.txt"), "from disk");
    expect(await storage.getItem("files:reports:notes.txt")).toBe("from disk");
    expect((await storage.getKeys("files")).sort()).toEqual(["files:reports:2026.json", "files:reports:notes.txt"]);
    expect(await storage.getKeys("files:reports:notes")).toEqual([]);
    expect(await storage.hasItem("files:reports:notes.txt")).toBe(true);
    expect(await storage.hasItem("files:nope")).toBe(false);
    expect(await storage.getItem("files:nope")).toBeNull();

    const binary = new Uint8Array([1, 2, 3, 250]);
    await storage.setItemRaw("files:bin:data", binary);
    expect(new Uint8Array((await storage.getItemRaw("files:bin:data")) as Uint8Array)).toEqual(binary);
    expect(new Uint8Array(await readFile(join(dir, "bin/data")))).toEqual(binary);

    const meta = await storage.getMeta("files:bin:data");
    expect(meta.size).toBe(4);
    expect(meta.mtime).toBeInstanceOf(Date);

    await storage.removeItem("files:bin:data");
    expect(await store.exists("bin/data")).toBe(false);
    // unstorage's clear reaches mounts under the base only, so clear a sub-tree on the driver itself.
    await store.put("keep/me", "x");
    await toUnstorage(store).clear("reports:");
    expect(await collectKeys(store.keys())).toEqual(["keep/me"]);
    await storage.clear("files");
    expect(await collectKeys(store.keys())).toEqual([]);
    await storage.dispose();
  });

  it("passes raw bytes whatever the store's serialization or schema", async () => {
    const { z } = await import("zod");
    const store = createStore(`memory://to-unstorage-${process.pid}`, { schema: z.object({ n: z.number() }) });
    const driver = toUnstorage(store);
    await driver.setItem("plain", "not JSON at all");
    expect(await driver.getItem("plain")).toBe("not JSON at all");
    await driver.setItemRaw("raw", utf8("bytes"));
    expect(await driver.getItemRaw("raw")).toEqual(utf8("bytes"));
    expect(await driver.getItemRaw("missing")).toBeNull();
    expect(await driver.getMeta("missing")).toEqual({});
  });

  it("watch: storage.watch gets update and remove with unstorage keys; unwatch stops it", async () => {
    const store = createStore(`memory://to-unstorage-watch-${process.pid}`);
    const storage = createStorage();
    storage.mount("m", toUnstorage(store));
    const seen: string[] = [];
    let wake: (() => void) | undefined;
    const unwatch = await storage.watch((event, key) => {
      seen.push(`${event} ${key}`);
      wake?.();
    });
    /** Waits (5 s at most) until `count` events have come. */
    const until = async (count: number) => {
      const deadline = Date.now() + 5000;
      while (seen.length < count && Date.now() < deadline) {
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 100);
        });
      }
    };
    await store.put("notes/a.txt", "a");
    await until(1);
    await storage.removeItem("m:notes:a.txt");
    await until(2);
    expect(seen).toEqual(["update m:notes:a.txt", "remove m:notes:a.txt"]);
    await unwatch();
    // A second watch tells when the event has been delivered: memory tells every watch at once.
    const probe = store.watch();
    await probe.ready;
    await store.put("after", 1);
    expect((await probe.next()).value).toEqual({ type: "put", key: "after" });
    await probe.return?.();
    expect(seen.length).toBe(2);
    await storage.dispose();
  });
});
