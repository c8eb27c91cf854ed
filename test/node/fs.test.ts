import { mkdir, readdir, readFile, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { fsDriver } from "../../src/drivers/node/fs/fs.js";
import { createStore } from "../../src/index.node.js";
import { collectKeys, contractSuite, readAll, rejectsWith, utf8 } from "../shared/contract.js";
import { TMP } from "./tmp.js";

let counter = 0;
const freshDir = () => join(TMP, `fs-${process.pid}-${++counter}`);

/** Every file under a directory, reserved ones included. */
async function allFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

contractSuite({
  name: "fs",
  make: (options) => createStore(freshDir(), options),
  reopen: (store) => createStore(store.uri),
});
// The checks other platforms get (no /proc/self/fd), run here on Linux.
contractSuite({
  name: "fs (portable checks)",
  make: (options) => createStore({ ...options, driver: fsDriver({ root: freshDir(), ...{ procfs: false } }) }),
});

describe("fs driver", () => {
  it("uses Python anystore's layout: key a/b.txt is the file ROOT/a/b.txt", async () => {
    const dir = freshDir();
    const store = createStore(dir);
    await store.put("a/b.txt", "hello");
    expect(await readFile(join(dir, "a/b.txt"), "utf8")).toBe("hello");
    await mkdir(join(dir, "existing/deep"), { recursive: true });
    await writeFile(join(dir, "existing/deep/file.json"), '{"made":"elsewhere"}');
    expect(await store.get("existing/deep/file.json")).toEqual({ made: "elsewhere" });
    expect(await collectKeys(store.keys())).toEqual(["a/b.txt", "existing/deep/file.json"]);
  });

  it("accepts file:// uris", async () => {
    const dir = freshDir();
    const store = createStore(`file://${dir}`);
    await store.put("x", 1);
    expect(await readFile(join(dir, "x"), "utf8")).toBe("1");
  });

  it("invalid keys create nothing on disk", async () => {
    const dir = freshDir();
    await mkdir(dir);
    const store = createStore(dir);
    for (const key of ["../escape", "/abs", "a/../../b", ".anystore/x", "a\\b", "s3://x"]) {
      await rejectsWith(store.put(key, "x"), "INVALID_KEY");
    }
    expect(await readdir(dir)).toEqual([]);
    expect(await readdir(TMP)).not.toContain("escape");
  });

  it("an aborted open('w') leaves the previous value byte for byte and no temp file", async () => {
    const dir = freshDir();
    const store = createStore(dir);
    const previous = new Uint8Array(100_000).map((_, i) => i & 255);
    await store.put("v.bin", previous);
    const writer = (await store.open("v.bin", "w")).getWriter();
    await writer.write(utf8("x".repeat(50_000)));
    await writer.abort(new Error("stop"));
    expect(new Uint8Array(await readFile(join(dir, "v.bin")))).toEqual(previous);
    expect(await allFiles(dir)).toEqual(["v.bin"]);
  });

  it("ttl metadata and temp files never show up as keys", async () => {
    const dir = freshDir();
    const store = createStore(dir);
    await store.put("t", 1, { ttl: 60 });
    await store.put("u", 2);
    expect(await collectKeys(store.keys())).toEqual(["t", "u"]);
    expect((await allFiles(dir)).some((f) => f.startsWith(".anystore/"))).toBe(true);
  });

  it("lists only names the store can read: a file named with a backslash, written by another program, is left out", async () => {
    const dir = freshDir();
    await mkdir(join(dir, "a"), { recursive: true });
    await writeFile(join(dir, "back\\slash"), "x");
    await writeFile(join(dir, "a", "in\\side"), "x");
    await writeFile(join(dir, "a", "fine.txt"), "y");
    const store = createStore(dir);
    const keys = await collectKeys(store.keys());
    expect(keys).toEqual(["a/fine.txt"]);
    for (const key of keys) await store.get(key);
    expect(await collectKeys(store.keys({ prefix: "a" }))).toEqual(["a/fine.txt"]);
  });

  it("symlinks out of the root are refused unless followSymlinks", async () => {
    const dir = freshDir();
    const outside = freshDir();
    await mkdir(dir, { recursive: true });
    await mkdir(outside, { recursive: true });
    await writeFile(join(outside, "secret.txt"), "secret");
    await symlink(outside, join(dir, "linkdir"));
    await symlink(join(outside, "secret.txt"), join(dir, "link.txt"));
    await writeFile(join(dir, "inside.txt"), "inside");
    await symlink(join(dir, "inside.txt"), join(dir, "alias.txt"));
    const store = createStore(dir);
    await rejectsWith(store.get("linkdir/secret.txt"), "INVALID_KEY");
    await rejectsWith(store.get("link.txt"), "INVALID_KEY");
    await rejectsWith(store.put("linkdir/new.txt", "x"), "INVALID_KEY");
    expect(await store.get("alias.txt")).toBe("inside");
    expect(await collectKeys(store.keys())).toEqual(["alias.txt", "inside.txt"]);
    const following = createStore(dir, { followSymlinks: true });
    expect(await following.get("linkdir/secret.txt")).toBe("secret");
  });

  it("deleting the last key of a folder removes the empty folder", async () => {
    const dir = freshDir();
    const store = createStore(dir);
    await store.put("a/b/c", 1);
    await store.delete("a/b/c");
    expect(await readdir(dir)).toEqual([]);
    await store.put("a", 2);
    expect(await store.get("a")).toBe(2);
  });

  it("reads whole values and ranges of every size: empty, small, around 32 and 64 KiB, larger", async () => {
    const store = createStore(freshDir(), { serialization: "raw" });
    for (const size of [0, 1, 1000, 32_767, 32_768, 32_769, 65_535, 65_536, 65_537, 300_000]) {
      const value = new Uint8Array(size).map((_, i) => (i * 7) & 255);
      await store.put(`v${size}`, value);
      expect(await store.get(`v${size}`)).toEqual(value);
      expect(await readAll(await store.open(`v${size}`))).toEqual(value);
      const end = Math.max(size - 1, 1);
      expect(await readAll(await store.open(`v${size}`, "r", { start: 1, end }))).toEqual(value.slice(1, end));
      expect((await store.info(`v${size}`)).size).toBe(size);
    }
  });

  it("exists and info see files and symlinks inside the root, not folders or dangling links", async () => {
    const dir = freshDir();
    const store = createStore(dir);
    await store.put("a/b", "x");
    await symlink(join(dir, "a/b"), join(dir, "link"));
    await symlink(join(dir, "nowhere"), join(dir, "dangling"));
    expect(await store.exists("a/b")).toBe(true);
    expect(await store.exists("link")).toBe(true);
    expect((await store.info("link")).size).toBe(1);
    expect(await store.exists("a")).toBe(false);
    expect(await store.exists("dangling")).toBe(false);
    await rejectsWith(store.info("a"), "NOT_FOUND");
    expect(await store.get("a", { throwOnMissing: false })).toBe(null);
  });

  it("many puts and gets of one key in flight at once leave one whole value and no temp file", async () => {
    const dir = freshDir();
    const store = createStore(dir);
    const values = Array.from({ length: 64 }, (_, i) => `v${i}-`.repeat(200));
    await store.put("k", values[0]);
    const seen = await Promise.all(values.flatMap((v) => [store.put("k", v).then(() => v), store.get("k")]));
    for (const v of seen) expect(values).toContain(v);
    expect(await allFiles(dir)).toEqual(["k"]);
  });

  it("a streamed read cancelled midway lets the key be rewritten and read again", async () => {
    const store = createStore(freshDir(), { serialization: "raw" });
    const value = new Uint8Array(3 * 1024 * 1024).map((_, i) => i & 255);
    await store.put("big", value);
    const reader = (await store.open("big")).getReader();
    expect((await reader.read()).value!.byteLength).toBeGreaterThan(0);
    await reader.cancel();
    await store.put("big", value.slice(1));
    // Buffer.equals, not toEqual: a deep compare of 3 MiB element by element takes seconds on a busy machine.
    expect(Buffer.from(await readAll(await store.open("big"))).equals(value.slice(1))).toBe(true);
  });
});
