import { execFileSync } from "node:child_process";
import { mkdir, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { emptyDirectory } from "../../src/drivers/node/zip/directory.js";
import { crc32, newEntry } from "../../src/drivers/node/zip/format.js";
import { append } from "../../src/drivers/node/zip/writer.js";
import { zipDriver } from "../../src/drivers/node/zip/zip.js";
import { createStore, isAnystoreError } from "../../src/index.node.js";
import { collectKeys, contractSuite, readAll, rejectsWith, text, utf8 } from "../shared/contract.js";
import { TMP as RUN_TMP } from "./tmp.js";

/** This run's scratch folder; ZIP_TEST_TMP moves it. */
const TMP = process.env.ZIP_TEST_TMP ?? RUN_TMP;
let counter = 0;
/** A path for a fresh archive in its own folder (so stray temp files would show). */
const freshArchive = () => join(TMP, `zip-${process.pid}-${++counter}`, "store.zip");

contractSuite({
  name: "zip",
  make: (options) => createStore(freshArchive(), options),
  reopen: (store) => createStore(store.uri),
});

/** Runs Python with `sys.argv[1]` set to `arg`; returns its stdout. */
const python = (code: string, arg: string) => execFileSync("python3", ["-c", code, arg], { encoding: "utf8" });
const unzipTest = (path: string) => execFileSync("unzip", ["-t", path], { encoding: "utf8" });
const pyTest = (path: string) =>
  JSON.parse(
    python(
      "import sys, zipfile, json; z = zipfile.ZipFile(sys.argv[1]); print(json.dumps([z.testzip(), z.namelist()]))",
      path,
    ),
  ) as [string | null, string[]];

/** Byte equality without vitest's element-by-element diffing (slow on megabytes). */
const same = (a: unknown, b: Uint8Array) => a instanceof Uint8Array && Buffer.from(a).equals(b);

/** Files in an archive's folder other than the archive: temp and spool files must not linger. */
async function strays(archive: string): Promise<string[]> {
  return (await readdir(dirname(archive))).filter((name) => name !== "store.zip" && name !== "src");
}

describe("zip driver: interop", () => {
  it("what it writes passes unzip -t and Python's zipfile, across appends and rewrites", async () => {
    const path = freshArchive();
    const store = createStore(path);
    const big = new Uint8Array(300_000).map((_, i) => (i * 7) & 255);
    await store.put("a.txt", "hello ".repeat(1000));
    await store.put("ünï/файл.json", { deep: [1, 2, 3] });
    await store.put("bin/random", crypto.getRandomValues(new Uint8Array(5000)));
    await store.put("ttl/x", "soon gone", { ttl: 3600 });
    await store.put("big.bin", new Blob([big]).stream());
    await store.put("empty", new Uint8Array(0));
    expect(unzipTest(path)).toMatch(/No errors detected/);
    expect(pyTest(path)).toEqual([null, ["a.txt", "ünï/файл.json", "bin/random", "ttl/x", "big.bin", "empty"]]);
    await store.put("a.txt", "overwritten");
    await store.delete("bin/random");
    expect(unzipTest(path)).toMatch(/No errors detected/);
    expect(pyTest(path)[1].sort()).toEqual(["a.txt", "big.bin", "empty", "ttl/x", "ünï/файл.json"]);
    expect(python("import sys, zipfile; print(zipfile.ZipFile(sys.argv[1]).read('a.txt').decode())", path).trim()).toBe(
      "overwritten",
    );
    expect(same(await store.get("big.bin", { serialization: "raw" }), big)).toBe(true);
    expect(await strays(path)).toEqual([]);
    await store.close();
  });

  it("reads archives made by Info-ZIP zip: stored, deflated, folders, zip64 extra fields", async () => {
    const path = freshArchive();
    const src = join(dirname(path), "src");
    await mkdir(join(src, "docs/empty"), { recursive: true });
    await writeFile(join(src, "docs/readme.txt"), "read me ".repeat(500));
    await writeFile(join(src, "data.json"), JSON.stringify({ made: "by zip" }));
    await writeFile(join(src, "raw.bin"), new Uint8Array(2000).fill(7));
    const zip = (...args: string[]) => execFileSync("zip", args, { cwd: src });
    zip("-q", "-r", path, "docs", "data.json");
    zip("-q", "-0", path, "raw.bin");
    execFileSync("zip", ["-q", path, "-"], { cwd: src, input: "from stdin" }); // a streamed entry: data descriptor
    const forced = join(dirname(path), "forced.zip");
    zip("-q", "-fz", "-r", forced, "docs", "data.json");

    for (const archive of [path, forced]) {
      const store = createStore(archive);
      expect(await collectKeys(store.keys())).toEqual(
        archive === path ? ["-", "data.json", "docs/readme.txt", "raw.bin"] : ["data.json", "docs/readme.txt"],
      );
      expect(await store.get("docs/readme.txt")).toBe("read me ".repeat(500));
      expect(await store.get("data.json")).toEqual({ made: "by zip" });
      const info = await store.info("docs/readme.txt");
      expect(info.size).toBe(4000);
      const mtime = (await stat(join(src, "docs/readme.txt"))).mtime;
      expect(Math.abs(info.updatedAt!.getTime() - mtime.getTime())).toBeLessThan(2000);
      expect(await store.exists("docs")).toBe(false);
      // docs/empty/ is a folder record: a folder, so writing a key there clashes
      await rejectsWith(store.put("docs/empty", 1), "CONFLICT");
      await store.close();
    }
    const store = createStore(path);
    expect(await store.get("raw.bin", { serialization: "raw" })).toEqual(new Uint8Array(2000).fill(7));
    expect(await store.get("-")).toBe("from stdin");
    expect(new TextDecoder().decode(await readAll(await store.open("raw.bin", "r", { start: 1990 })))).toBe(
      "\x07".repeat(10),
    );
    // Writing to it keeps it valid for Info-ZIP, folder records included.
    await store.put("new.txt", "appended");
    await store.put("data.json", { changed: true });
    expect(unzipTest(path)).toMatch(/No errors detected/);
    expect(pyTest(path)[1].sort()).toEqual([
      "-",
      "data.json",
      "docs/",
      "docs/empty/",
      "docs/readme.txt",
      "new.txt",
      "raw.bin",
    ]);
    expect(await store.get("-")).toBe("from stdin");
    await store.close();
  });

  it("reads zip64 archives with more than 65,535 entries, and appends to them", async () => {
    const path = freshArchive();
    await mkdir(dirname(path), { recursive: true });
    python(
      `import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w") as z:
    for i in range(70000): z.writestr(f"e/{i}", str(i))
    with z.open("forced", "w", force_zip64=True) as f: f.write(b"zip64 local header")`,
      path,
    );
    const store = createStore(path);
    let count = 0;
    for await (const _ of store.keys({ prefix: "e" })) count++;
    expect(count).toBe(70000);
    expect(await store.get("e/0")).toBe(0);
    expect(await store.get("e/69999")).toBe(69999);
    expect(await store.get("forced")).toBe("zip64 local header");
    await store.put("added", "after 70k");
    expect(
      python(
        "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); print(len(z.namelist()), z.read('added').decode(), z.read('e/12345').decode())",
        path,
      ).trim(),
    ).toBe("70002 after 70k 12345");
    await store.close();
  }, 60_000);

  it("writes and reads zip64 offsets (an entry past 4 GiB, in a sparse file)", async () => {
    const path = freshArchive();
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, "");
    const dir = emptyDirectory();
    dir.cdStart = 2 ** 32 + 1000; // the entry lands past 4 GiB; the hole before it costs no disk
    const value = utf8("beyond four gigabytes");
    const entry = newEntry("far.txt", {
      method: 0,
      crc: crc32(value),
      size: value.length,
      csize: value.length,
      mtime: new Date(),
      expiresAt: 0,
    });
    await append(path, dir, [{ entry, payload: { bytes: value } }]);
    expect((await stat(path)).size).toBeGreaterThan(2 ** 32);
    const store = createStore(path);
    expect(await store.get("far.txt")).toBe("beyond four gigabytes");
    expect(
      python(
        "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); i = z.getinfo('far.txt'); print(i.header_offset, z.read('far.txt').decode())",
        path,
      ).trim(),
    ).toBe(`${2 ** 32 + 1000} beyond four gigabytes`);
    await rm(dirname(path), { recursive: true });
  });

  it("decodes names without the UTF-8 flag as code page 437", async () => {
    const path = freshArchive();
    await createStore(path).put("cafe.txt", "legacy");
    const bytes = await readFile(path);
    for (let at = bytes.indexOf("cafe.txt"); at >= 0; at = bytes.indexOf("cafe.txt", at + 1)) bytes[at + 3] = 0x82; // é in CP437
    await writeFile(path, bytes);
    const store = createStore(path);
    expect(await collectKeys(store.keys())).toEqual(["café.txt"]);
    expect(await store.get("café.txt")).toBe("legacy");
  });

  it("accepts zip:///abs, file:///abs.zip and plain paths", async () => {
    const path = freshArchive();
    await createStore(`zip://${path}`).put("k", "v");
    expect(await createStore(`file://${path}`).get("k")).toBe("v");
    expect(await createStore(path).get("k")).toBe("v");
    await rejectsWith(createStore(path, { level: 12 } as never).get("k"), "INVALID_ARGUMENT");
    await rejectsWith(createStore(path, { maxEntrySize: "big" } as never).get("k"), "INVALID_ARGUMENT");
  });
});

describe("zip driver: writes", () => {
  it("appends new keys in place and rewrites (rename) for overwrites and deletes", async () => {
    const path = freshArchive();
    const store = createStore(path);
    await store.put("one", 1);
    const first = await stat(path);
    await store.put("two", 2);
    expect((await stat(path)).ino).toBe(first.ino);
    const created = (await store.info("one")).createdAt!;
    await new Promise((r) => setTimeout(r, 5));
    await store.put("one", 11);
    const info = await store.info("one");
    expect(info.createdAt).toEqual(created); // kept across overwrites, in anystore's extra field
    expect(info.updatedAt!.getTime()).toBeGreaterThan(created.getTime());
    const rewritten = await stat(path);
    expect(rewritten.ino).not.toBe(first.ino);
    await store.delete("two");
    expect((await stat(path)).ino).not.toBe(rewritten.ino);
    expect(await collectKeys(store.keys())).toEqual(["one"]);
    expect(await store.get("one")).toBe(11);
    expect(await strays(path)).toEqual([]);
  });

  it("serializes concurrent writers and keeps a consistent archive", async () => {
    const path = freshArchive();
    const store = createStore(path);
    await Promise.all(Array.from({ length: 50 }, (_, i) => store.put(`k/${i % 40}`, i)));
    await Promise.all([
      store.delete("k/1"),
      store.put("k/2", "x"),
      store.putMany([
        ["m/a", 1],
        ["m/b", 2],
      ]),
    ]);
    expect((await collectKeys(store.keys())).length).toBe(41);
    expect(unzipTest(path)).toMatch(/No errors detected/);
  });

  it("a reader streaming an entry keeps its data while the archive is rewritten", async () => {
    const path = freshArchive();
    const store = createStore(path);
    const value = new Uint8Array(2_000_000).map((_, i) => (i * 13) & 255);
    await store.put("v", value);
    const stream = await store.open("v");
    const reader = stream.getReader();
    const head = await reader.read();
    await store.put("v", "replaced");
    await store.put("w", "another");
    const rest: Uint8Array[] = [head.value!];
    for (let r = await reader.read(); !r.done; r = await reader.read()) rest.push(r.value);
    expect(same(new Uint8Array(await new Blob(rest).arrayBuffer()), value)).toBe(true);
    expect(await store.get("v")).toBe("replaced");
  });

  it("sees changes made by other programs (directory cache invalidated by size/mtime)", async () => {
    const path = freshArchive();
    const store = createStore(path);
    await store.put("mine", 1);
    expect(await store.get("mine")).toBe(1);
    python("import sys, zipfile\nwith zipfile.ZipFile(sys.argv[1], 'a') as z: z.writestr('theirs', '2')", path);
    expect(await collectKeys(store.keys())).toEqual(["mine", "theirs"]);
    expect(await store.get("theirs")).toBe(2);
  });

  it("expired entries are invisible, and sweep() removes them from the file", async () => {
    const path = freshArchive();
    const store = createStore(path);
    await store.put("short", 1, { ttl: 0.05 });
    await store.put("long", 2, { ttl: 3600 });
    await new Promise((r) => setTimeout(r, 100));
    expect(await store.exists("short")).toBe(false);
    expect(pyTest(path)[1]).toEqual(["short", "long"]);
    const driver = zipDriver({ path });
    expect(await driver.sweep!()).toBe(1);
    expect(pyTest(path)[1]).toEqual(["long"]);
    expect(await store.get("long")).toBe(2);
  });

  it("a missing archive is an empty store and reading creates nothing", async () => {
    const path = freshArchive();
    const store = createStore(path);
    expect(await collectKeys(store.keys())).toEqual([]);
    expect(await store.exists("x")).toBe(false);
    await expect(stat(dirname(path))).rejects.toThrow();
    await store.delete("x");
    await expect(stat(path)).rejects.toThrow();
  });

  it("an aborted streamed write leaves neither a key nor a spool file", async () => {
    const path = freshArchive();
    const store = createStore(path);
    await store.put("keep", "k");
    const writer = (await store.open("new", "w")).getWriter();
    await writer.write(utf8("partial"));
    await writer.abort(new Error("stop"));
    expect(await collectKeys(store.keys())).toEqual(["keep"]);
    expect(await strays(path)).toEqual([]);
  });
});

describe("zip driver: hostile and corrupt archives", () => {
  const hostile = [
    "../evil.txt",
    "/abs.txt",
    "a\\b.txt",
    "C:/drive.txt",
    "C:\\drive2.txt",
    "ok/../../up.txt",
    "./dot.txt",
    "a//b.txt",
    ".anystore/x",
  ];

  it("never reaches, lists or writes outside for entries with hostile names", async () => {
    const path = freshArchive();
    await mkdir(dirname(path), { recursive: true });
    python(
      `import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w") as z:
    for n in ${JSON.stringify(hostile)}:
        z.writestr(zipfile.ZipInfo(n), "bad")
    z.writestr("good.txt", "good")`,
      path,
    );
    const store = createStore(path);
    expect(await collectKeys(store.keys())).toEqual(["good.txt"]);
    for (const key of ["evil.txt", "abs.txt", "up.txt", "dot.txt", "a/b.txt", "drive.txt"])
      expect(await store.exists(key)).toBe(false);
    await store.put("good.txt", "rewritten");
    await store.put("more.txt", "appended");
    // Rewrites keep the foreign entries as they were (never extracted, never dropped silently).
    expect(pyTest(path)[1].sort()).toEqual([...hostile, "good.txt", "more.txt"].sort());
    expect(await readdir(dirname(dirname(path)))).not.toContain("evil.txt");
    expect(await strays(path)).toEqual([]);
  });

  it("with duplicate names the last record wins, and a delete removes them all", async () => {
    const path = freshArchive();
    await mkdir(dirname(path), { recursive: true });
    python(
      `import sys, zipfile, warnings
warnings.simplefilter("ignore")
with zipfile.ZipFile(sys.argv[1], "w") as z:
    z.writestr("dup", "first"); z.writestr("other", "o"); z.writestr("dup", "second")`,
      path,
    );
    const store = createStore(path);
    expect(await store.get("dup")).toBe("second");
    expect(await collectKeys(store.keys())).toEqual(["dup", "other"]);
    await store.delete("dup");
    expect(pyTest(path)[1]).toEqual(["other"]);
  });

  it("bounds inflation: maxEntrySize, and entries inflating past their declared size", async () => {
    const path = freshArchive();
    const store = createStore(path);
    await store.put("zeros", new Uint8Array(10_000_000));
    const capped = createStore(path, { maxEntrySize: 1_000_000 } as never);
    expect((await rejectsWith(capped.get("zeros"), "IO")) as Error).toHaveProperty(
      "message",
      expect.stringMatching(/maxEntrySize/),
    );
    await rejectsWith(capped.open("zeros"), "IO");
    // Lie about the size in the central directory: 10 MB of zeros declared as 1 KB.
    const bytes = await readFile(path);
    const central = bytes.lastIndexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    bytes.writeUInt32LE(1024, central + 24);
    await writeFile(path, bytes);
    const liar = createStore(path);
    expect(((await rejectsWith(liar.get("zeros"), "IO")) as Error).message).toMatch(/past its declared size/);
    await rejectsWith(text(await liar.open("zeros")), "IO");
  });

  it("a corrupt, truncated or foreign file gives a typed error", async () => {
    const path = freshArchive();
    const store = createStore(path);
    await store.put("a", "x".repeat(10_000));
    await store.put("b", "y");
    const good = await readFile(path);
    const cases: Array<[string, Uint8Array]> = [
      ["not a zip", utf8("just some text, not an archive")],
      ["truncated", good.subarray(0, good.length - 30)],
      ["cut in data", good.subarray(0, 40)],
    ];
    for (const [, bytes] of cases) {
      await writeFile(path, bytes);
      const s = createStore(path);
      await rejectsWith(collectKeys(s.keys()), "IO");
      await rejectsWith(s.get("a"), "IO");
      await rejectsWith(s.put("c", 1), "IO");
    }
    await rm(dirname(path), { recursive: true });
  });

  it("typed errors are AnystoreErrors with the archive path in the message", async () => {
    const path = freshArchive();
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, "PK not really");
    const error = await createStore(path)
      .get("x")
      .catch((e) => e);
    expect(isAnystoreError(error, "IO")).toBe(true);
    expect(error.message).toContain(path);
  });
});
