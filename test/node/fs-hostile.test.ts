/**
 * The fs driver under hostile conditions: folders swapped for symlinks (also while it works),
 * killed writers' temp files, and processes racing on one key (issue 11, items 5, 7 and 8).
 */
import { spawn } from "node:child_process";
import { lstat, mkdir, readdir, readFile, rename, symlink, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { Driver } from "../../src/core/driver/contract.js";
import { type FsDriverOptions, fsDriver } from "../../src/drivers/node/fs/fs.js";
import type { StoreOptions } from "../../src/index.node.js";
import { createStore, createStore as createStoreWithDriver, isAnystoreError } from "../../src/index.node.js";
import { collectKeys, rejectsWith, sleep, utf8 } from "../shared/contract.js";
import { TMP } from "./tmp.js";

let counter = 0;
const WORKER = fileURLToPath(new URL("./fs-worker.ts", import.meta.url));
const freshDir = () => join(TMP, `fs-hostile-${process.pid}-${++counter}`);
const text = (bytes: Uint8Array | null) => (bytes === null ? null : new TextDecoder().decode(bytes));

/** Every file and folder under a directory (relative paths, folders end in `/`), symlinks not followed. */
async function tree(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.map((e) => join(e.parentPath, e.name).slice(dir.length + 1) + (e.isDirectory() ? "/" : "")).sort();
}

/** A folder outside the store with files whose names the store's keys use, and what it holds. */
async function outsideWithBait(names: string[]): Promise<{ dir: string; snapshot: () => Promise<string> }> {
  const dir = freshDir();
  await mkdir(dir, { recursive: true });
  for (const name of names) await writeFile(join(dir, name), "OUTSIDE");
  const snapshot = async () => {
    const paths = await tree(dir);
    const contents = await Promise.all(paths.map((p) => (p.endsWith("/") ? "" : readFile(join(dir, p), "utf8"))));
    return JSON.stringify(paths.map((p, i) => [p, contents[i]]));
  };
  return { dir, snapshot };
}

/** Linux pins folders through /proc/self/fd; other platforms check real paths (forced here with `procfs: false`). */
const MODES = [
  { name: "procfs", extra: {} },
  { name: "portable checks", extra: { procfs: false } },
];

describe.each(MODES)("fs driver ($name): symlinks cannot lead outside the root", ({ extra }) => {
  const createStore = (root: string, options: StoreOptions = {}) =>
    createStoreWithDriver({ ...options, driver: fsDriver({ root, ...extra, ...(options as FsDriverOptions) }) });

  it("a folder swapped for a symlink after it was used is refused (no cached 'inside' verdict)", async () => {
    const root = freshDir();
    const outside = await outsideWithBait(["k", "secret"]);
    const before = await outside.snapshot();
    const store = createStore(root, { serialization: "raw" });
    await store.put("d/k", utf8("inside"));
    expect(text(await store.get("d/k"))).toBe("inside");
    await rename(join(root, "d"), join(root, "d-moved"));
    await symlink(outside.dir, join(root, "d"));
    await rejectsWith(store.put("d/k", utf8("written")), "INVALID_KEY");
    await rejectsWith(store.put("d/new", utf8("written")), "INVALID_KEY");
    await rejectsWith(store.get("d/secret"), "INVALID_KEY");
    await rejectsWith(store.info("d/secret"), "INVALID_KEY");
    await rejectsWith(store.delete("d/secret"), "INVALID_KEY");
    expect(await outside.snapshot()).toBe(before);
  });

  it("a write through a symlink out of the root creates no folder outside (no mkdir -p before the check)", async () => {
    const root = freshDir();
    const outside = await outsideWithBait([]);
    await mkdir(root, { recursive: true });
    await symlink(outside.dir, join(root, "link"));
    const store = createStore(root);
    await rejectsWith(store.put("link/new/deep/k", "x"), "INVALID_KEY");
    const writer = createStore(root).open("link/other/k", "w");
    await rejectsWith(writer, "INVALID_KEY");
    expect(await tree(outside.dir)).toEqual([]);
  });

  it("a root whose path passes through a symlink (/var -> /private/var) takes nested keys", async () => {
    const real = freshDir();
    await mkdir(real, { recursive: true });
    const alias = `${real}-alias`;
    await symlink(real, alias);
    const store = createStore(join(alias, "store"));
    await store.put("a/b/c.json", { ok: 1 });
    expect(await store.get("a/b/c.json")).toEqual({ ok: 1 });
    expect(await store.exists("a/b/c.json")).toBe(true);
    expect(await collectKeys(store.keys())).toEqual(["a/b/c.json"]);
    await store.delete("a/b/c.json");
    expect(await tree(join(real, "store"))).toEqual([]);
  });

  it("symlinks inside the root still work for nested folders", async () => {
    const root = freshDir();
    const store = createStore(root);
    await store.put("real/k", "v");
    await symlink(join(root, "real"), join(root, "alias"));
    expect(await store.get("alias/k")).toBe("v");
    await store.put("alias/deep/k2", "w");
    expect(await store.get("real/deep/k2")).toBe("w");
    expect(await collectKeys(store.keys({ prefix: "alias" }))).toEqual(["alias/deep/k2", "alias/k"]);
  });

  it("listing a prefix that is a symlink out of the root lists nothing from outside", async () => {
    const root = freshDir();
    const outside = await outsideWithBait(["secret"]);
    await mkdir(root, { recursive: true });
    await symlink(outside.dir, join(root, "link"));
    const store = createStore(root);
    expect(await collectKeys(store.keys({ prefix: "link" }))).toEqual([]);
    expect(await collectKeys(store.keys())).toEqual([]);
  });
});

describe("fs driver: symlink races", () => {
  it("a folder swapped for a symlink and back while puts, gets and deletes run: nothing outside is written or read", async () => {
    const root = freshDir();
    const names = Array.from({ length: 8 }, (_, i) => `k${i}`);
    const outside = await outsideWithBait(names);
    const before = await outside.snapshot();
    const store = createStore(root, { serialization: "raw" });
    for (const name of names) await store.put(`d/${name}`, utf8("inside"));
    const swapper = startSwapper(join(root, "d"), outside.dir);
    await swapper.ready;
    const seen = new Set<string>();
    const outcomes = { ok: 0, refused: 0 };
    const attempt = async (op: () => Promise<unknown>) => {
      try {
        const value = await op();
        if (value instanceof Uint8Array) seen.add(text(value)!);
        outcomes.ok++;
      } catch (error) {
        if (!isAnystoreError(error) || error.code === "IO") throw error;
        outcomes.refused++; // InvalidKey while the symlink is there, Conflict/NotFound mid-swap
      }
    };
    try {
      for (let round = 0; round < 150; round++) {
        await Promise.all(
          names.map((name, i) =>
            attempt(async () => {
              const key = i % 2 ? `d/${name}` : `d/sub/${name}`;
              if ((round + i) % 4 === 0) return store.delete(key);
              if ((round + i) % 4 === 1) return store.get(key, { throwOnMissing: false });
              if ((round + i) % 4 === 2) return store.exists(key);
              return store.put(key, utf8("inside"));
            }),
          ),
        );
      }
    } finally {
      await swapper.stop();
    }
    expect(swapper.swaps()).toBeGreaterThan(0);
    expect(outcomes.ok).toBeGreaterThan(0);
    expect([...seen].filter((value) => value !== "inside")).toEqual([]);
    expect(await outside.snapshot()).toBe(before);
  });
});

/** A child process that keeps replacing `dir` with a symlink to `target` and putting it back. */
function startSwapper(dir: string, target: string) {
  const code = `
    const fs = require("node:fs");
    const [dir, target] = process.argv.slice(1);
    let n = 0, swaps = 0, stop = false;
    process.stdin.on("data", () => (stop = true));
    process.stdin.on("end", () => (stop = true));
    const spin = (ms) => { const end = Date.now() + ms; while (Date.now() < end); };
    const step = () => {
      const aside = dir + "-aside-" + n++;
      try {
        if (fs.lstatSync(dir).isDirectory()) fs.renameSync(dir, aside);
        fs.symlinkSync(target, dir);
        if (++swaps === 1) process.stdout.write("ready\\n");
        spin(Math.random() * 3);
        fs.unlinkSync(dir);
        fs.renameSync(aside, dir);
      } catch {}
      if (stop) { process.stdout.write("swaps " + swaps + "\\n"); process.exit(0); }
      setImmediate(step);
    };
    step();
  `;
  const child = spawn(process.execPath, ["-e", code, dir, target], { stdio: ["pipe", "pipe", "inherit"] });
  let output = "";
  let swaps = 0;
  const ready = new Promise<void>((resolve) =>
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk;
      if (output.includes("ready")) resolve();
    }),
  );
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  return {
    ready,
    swaps: () => swaps,
    stop: async () => {
      child.stdin.end("stop");
      await exited;
      swaps = Number(/swaps (\d+)/.exec(output)?.[1] ?? 0);
    },
  };
}

describe("fs driver: names the file system cannot hold", () => {
  it("a segment over 255 bytes is an InvalidKeyError (not IO), and nothing is left behind", async () => {
    const root = freshDir();
    const store = createStore(root);
    await store.put("ok", 1);
    await rejectsWith(store.put(`a/${"x".repeat(300)}`, 1), "INVALID_KEY");
    await rejectsWith(store.put("y".repeat(300), 1), "INVALID_KEY");
    await rejectsWith(store.open(`b/${"é".repeat(128)}`, "w"), "INVALID_KEY");
    expect(await tree(root)).toEqual(["ok"]);
  });
});

describe("fs driver: temp files", () => {
  it("temp files of killed writers are never listed, and sweep() removes them past tempMaxAge", async () => {
    const root = freshDir();
    const store = createStore(root);
    await store.put("a/kept", 1);
    await store.put("t", 2, { ttl: 600 });
    const hoursAgo = (h: number) => new Date(Date.now() - h * 3600_000);
    const old = [
      ".anystore-tmp-dead-1",
      "a/.anystore-tmp-dead-2",
      "b/.anystore-tmp-dead-3",
      ".anystore/ttl/.anystore-tmp-dead-4",
    ];
    const fresh = ["a/.anystore-tmp-busy-1"];
    for (const path of [...old, ...fresh]) {
      await mkdir(join(root, path, ".."), { recursive: true });
      await writeFile(join(root, path), "partial");
    }
    for (const path of old) await utimes(join(root, path), hoursAgo(2), hoursAgo(2));
    expect(await collectKeys(store.keys())).toEqual(["a/kept", "t"]);
    expect(await store.sweep()).toBe(0);
    const files = await tree(root);
    for (const path of old) expect(files).not.toContain(path);
    expect(files).toContain(fresh[0]);
    expect(files).not.toContain("b/"); // the folder only the leftover kept
    expect(await store.get("a/kept")).toBe(1);
    expect(await store.get("t")).toBe(2);
  });

  it("tempMaxAge sets the age", async () => {
    const root = freshDir();
    await mkdir(root, { recursive: true });
    await writeFile(join(root, ".anystore-tmp-x-1"), "partial");
    const minutesAgo = new Date(Date.now() - 120_000);
    await utimes(join(root, ".anystore-tmp-x-1"), minutesAgo, minutesAgo);
    await createStore(root).sweep();
    expect(await tree(root)).toEqual([".anystore-tmp-x-1"]);
    await createStore(root, { tempMaxAge: 60 }).sweep();
    expect(await tree(root)).toEqual([]);
  });
});

describe("fs driver: races on one key", () => {
  it("a refused put(k, v, { ttl, ifNotExists }) leaves the key's expiry as it was", async () => {
    const store = createStore(freshDir());
    await store.put("lock", "holder", { ttl: 1 });
    await rejectsWith(store.put("lock", "other", { ttl: 1000, ifNotExists: true }), "ALREADY_EXISTS");
    await sleep(1300);
    expect(await store.get("lock", { throwOnMissing: false })).toBe(null);
    await store.put("lock", "next", { ifNotExists: true, ttl: 60 });
    expect(await store.get("lock")).toBe("next");
  });

  it("a lock taken and released by many at once: every refused take is AlreadyExists, never IO", async () => {
    const root = freshDir();
    const drivers = [fsDriver({ root }), fsDriver({ root })];
    const value = utf8("held");
    let wins = 0;
    const worker = async (driver: Driver, withTtl: boolean) => {
      for (let i = 0; i < 60; i++) {
        try {
          await driver.put("lock", value, { ifNotExists: true, ...(withTtl && { ttl: 60 }) });
          wins++;
          await driver.delete("lock");
        } catch (error) {
          if (!isAnystoreError(error, "ALREADY_EXISTS")) throw error;
        }
      }
    };
    await Promise.all(Array.from({ length: 16 }, (_, i) => worker(drivers[i % 2], i % 4 < 2)));
    expect(wins).toBeGreaterThan(0);
    expect((await tree(root)).filter((path) => path.includes(".anystore-tmp-"))).toEqual([]);
  });

  it("racers taking a lock that has just expired: exactly one wins, and its value stays", async () => {
    const root = freshDir();
    const drivers = [fsDriver({ root }), fsDriver({ root })];
    for (let round = 0; round < 5; round++) {
      await drivers[0].put("lock", utf8("old"), { ttl: 0.2 });
      await sleep(300);
      const results = await Promise.allSettled(
        Array.from({ length: 40 }, (_, i) =>
          drivers[i % 2].put("lock", utf8(`racer-${i}`), { ifNotExists: true, ttl: 60 }).then(() => i),
        ),
      );
      const winners = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
      for (const r of results)
        if (r.status === "rejected") expect(isAnystoreError(r.reason, "ALREADY_EXISTS")).toBe(true);
      expect(winners).toHaveLength(1);
      expect(text(await drivers[1].get("lock"))).toBe(`racer-${winners[0]}`);
      await drivers[0].delete("lock");
    }
    expect((await tree(root)).filter((path) => path.includes(".anystore-tmp-"))).toEqual([]);
  });

  it("processes putting into a folder while their deletes empty and remove it: the writers never fail", async () => {
    const root = freshDir();
    const outputs = await Promise.all([1, 2, 3, 4].map((id) => runWorker(["hammer", root, String(id), "300"])));
    expect(outputs.map((output) => JSON.parse(output))).toEqual([[], [], [], []]);
    expect((await tree(root)).filter((path) => !path.startsWith(".anystore"))).toEqual([]);
  });
});

/** Runs test/node/fs-worker.ts to the end and resolves to what it printed. */
function runWorker(args: string[]): Promise<string> {
  const child = spawn(process.execPath, ["--import", "tsx", WORKER, ...args], { stdio: ["ignore", "pipe", "inherit"] });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk));
  return new Promise((resolve, reject) =>
    child.on("exit", (code) => (code === 0 ? resolve(output) : reject(new Error(`worker exited ${code}`)))),
  );
}

describe("fs driver: streamed ifNotExists", () => {
  it("100 concurrent write(key, { ifNotExists }) streams: exactly one wins, the rest get AlreadyExists and leave nothing", async () => {
    const root = freshDir();
    const drivers = [fsDriver({ root }), fsDriver({ root })];
    const writers = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        drivers[i % 2].write!("race/key", { ifNotExists: true, ...(i % 3 === 0 && { ttl: 60 }) }),
      ),
    );
    const results = await Promise.allSettled(
      writers.map(async (stream, i) => {
        const writer = stream.getWriter();
        await writer.write(utf8(`writer-${i}-`.repeat(1000)));
        await writer.close();
        return i;
      }),
    );
    const winners = results
      .filter((r) => r.status === "fulfilled")
      .map((r) => (r as PromiseFulfilledResult<number>).value);
    expect(winners).toHaveLength(1);
    for (const r of results)
      if (r.status === "rejected") expect(isAnystoreError(r.reason, "ALREADY_EXISTS")).toBe(true);
    expect(text(await drivers[0].get("race/key"))).toBe(`writer-${winners[0]}-`.repeat(1000));
    expect((await tree(root)).filter((path) => !path.startsWith(".anystore/"))).toEqual(["race/", "race/key"]);
    // Once the key exists, a streamed create is refused before any byte is sent.
    await rejectsWith(drivers[1].write!("race/key", { ifNotExists: true }), "ALREADY_EXISTS");
    expect((await lstat(join(root, "race/key"))).isFile()).toBe(true);
  });
});
