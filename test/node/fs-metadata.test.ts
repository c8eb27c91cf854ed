/**
 * The fs driver's `metadataDir`: TTL sidecars live outside the root, so the root holds exactly
 * the values (Python anystore's layout, which lists every file it finds as a key).
 */
import { execFileSync } from "node:child_process";
import { mkdir, readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { fsDriver } from "../../src/drivers/node/fs/fs.js";
import { createStore } from "../../src/index.node.js";
import { collectKeys, contractSuite, rejectsWith, sleep } from "../shared/contract.js";
import { TMP } from "./tmp.js";

let counter = 0;
const fresh = () => {
  const base = join(TMP, `fs-metadata-${process.pid}-${++counter}`);
  return { root: join(base, "root"), meta: join(base, "meta") };
};

/** Every file under a directory, reserved ones included, as Python's `os.walk` sees them. */
function pythonWalk(dir: string): string[] {
  const script = [
    "import os, sys, json",
    "root = sys.argv[1]",
    "out = [os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) for f in fs]",
    "print(json.dumps(sorted(out)))",
  ].join("\n");
  return JSON.parse(execFileSync("/usr/bin/python3", ["-c", script, dir], { encoding: "utf8" }));
}

contractSuite({
  name: "fs (metadataDir)",
  make: (options) => {
    const { root, meta } = fresh();
    return createStore(root, { ...options, metadataDir: meta });
  },
});

describe("fs metadataDir", () => {
  it("keeps TTL sidecars out of the root: the root holds only the values, and TTLs still work", async () => {
    const { root, meta } = fresh();
    const store = createStore(root, { metadataDir: meta });
    await store.put("a/short.txt", "soon gone", { ttl: 1 });
    await store.put("a/kept.txt", "stays");
    await store.put("top.json", { x: 1 }, { ttl: 3600 });
    expect(pythonWalk(root)).toEqual(["a/kept.txt", "a/short.txt", "top.json"]);
    expect(pythonWalk(meta)).toEqual(["ttl/a/short.txt", "ttl/top.json"]);
    expect(await store.get("a/short.txt")).toBe("soon gone");
    await sleep(1100);
    expect(await store.exists("a/short.txt")).toBe(false);
    expect((await collectKeys(store.keys())).sort()).toEqual(["a/kept.txt", "top.json"]);
    expect(await store.get("top.json")).toEqual({ x: 1 });
    // The expired value was removed by the read that met it, its sidecar with it.
    expect(pythonWalk(root)).toEqual(["a/kept.txt", "top.json"]);
    expect(pythonWalk(meta)).toEqual(["ttl/top.json"]);
  });

  it("another store on the same root and metadataDir (another process) sees the same expiry", async () => {
    const { root, meta } = fresh();
    await createStore(root, { metadataDir: meta }).put("k", "v", { ttl: 1 });
    const other = createStore({ driver: fsDriver({ root, metadataDir: meta }) });
    expect(await other.get("k")).toBe("v");
    await sleep(1100);
    expect(await other.get("k", { default: "expired" })).toBe("expired");
  });

  it("sweep() reclaims expired values and their sidecars without reading them", async () => {
    const { root, meta } = fresh();
    const store = createStore(root, { metadataDir: meta });
    for (let i = 0; i < 5; i++) await store.put(`d/${i}`, i, { ttl: 1 });
    await store.put("d/forever", 1);
    await sleep(1100);
    expect(await store.sweep()).toBe(5);
    expect(pythonWalk(root)).toEqual(["d/forever"]);
    expect(pythonWalk(meta)).toEqual([]);
  });

  it("the file: uri takes it as a query; a relative path resolves against the working directory", async () => {
    const { root, meta } = fresh();
    const uri = `${pathToFileURL(root).href}?metadataDir=${encodeURIComponent(meta)}`;
    const store = createStore(uri);
    await store.put("x.txt", "x", { ttl: 60 });
    expect(pythonWalk(root)).toEqual(["x.txt"]);
    expect((await stat(join(meta, "ttl/x.txt"))).isFile()).toBe(true);
  });

  it("a metadataDir inside the root (where Python would list it) is an InvalidArgumentError", async () => {
    const { root } = fresh();
    await mkdir(root, { recursive: true });
    for (const inside of [root, join(root, "meta"), join(root, ".anystore")]) {
      const error = await rejectsWith(createStore(root, { metadataDir: inside }).put("k", "v"), "INVALID_ARGUMENT");
      expect((error as Error).message).toMatch(/metadataDir .* is inside the store's root/);
    }
    expect(await readdir(root)).toEqual([]);
  });

  it("without the option, TTLs keep their default place under ROOT/.anystore (the trade-off the README names)", async () => {
    const { root } = fresh();
    await createStore(root).put("k", "v", { ttl: 60 });
    expect(pythonWalk(root)).toEqual([".anystore/ttl/k", "k"]);
  });
});
