/**
 * The zip driver under hostile archives and dead writers: zip bombs, appends cut short, locks
 * and temp files left by killed processes, several stores writing one archive.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdir, open, readdir, rm, stat, utimes, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { dirname, join } from "node:path";
import { deflateRawSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { emptyDirectory, loadDirectory } from "../../src/drivers/node/zip/directory.js";
import { crc32, newEntry } from "../../src/drivers/node/zip/format.js";
import { saveJournal } from "../../src/drivers/node/zip/journal.js";
import { append } from "../../src/drivers/node/zip/writer.js";
import { zipDriver } from "../../src/drivers/node/zip/zip.js";
import { createStore } from "../../src/index.node.js";
import { collectKeys, readAll, rejectsWith, text } from "../shared/contract.js";
import { raceStreamedCreates } from "../shared/contract-races.js";
import { TMP } from "./tmp.js";

const MiB = 1024 * 1024;
let counter = 0;
const freshArchive = () => join(TMP, `zip-safety-${process.pid}-${++counter}`, "store.zip");
const unzipOk = (path: string) => spawnSync("unzip", ["-tq", path]).status === 0;
const leftovers = async (path: string) => (await readdir(dirname(path))).filter((name) => name !== "store.zip");
/** A pid that belonged to a process which has ended. */
const deadPid = () => spawnSync(process.execPath, ["-e", ""]).pid!;

/** An archive holding one deflated entry of `size` zero bytes: a few KiB that inflate to `size`. */
async function bomb(path: string, size: number): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, "");
  const zeros = new Uint8Array(size);
  const data = deflateRawSync(zeros, { level: 9 });
  const entry = newEntry("bomb.bin", {
    method: 8,
    crc: crc32(zeros),
    size,
    csize: data.length,
    mtime: new Date(),
    expiresAt: 0,
  });
  await append(path, emptyDirectory(), [{ entry, payload: { bytes: data } }]);
}

describe("zip driver: zip bombs", () => {
  it("an entry inflating over maxRatio is refused, whole or streamed, before anything is allocated", async () => {
    const path = freshArchive();
    await bomb(path, 64 * MiB);
    expect((await stat(path)).size).toBeLessThan(200 * 1024);
    const store = createStore(path, { serialization: "raw" } as never);
    const error = (await rejectsWith(store.get("bomb.bin"), "IO")) as Error;
    expect(error.message).toMatch(/inflates \d+ times .*over maxRatio \(100\)/);
    await rejectsWith(store.open("bomb.bin"), "IO");
  });

  it("get refuses an entry over maxGetSize with UnsupportedError; a stream reads it with bounded memory", async () => {
    const path = freshArchive();
    await bomb(path, 40 * MiB);
    const store = createStore(path, { serialization: "raw", maxRatio: Infinity, maxGetSize: 32 * MiB } as never);
    const error = (await rejectsWith(store.get("bomb.bin"), "UNSUPPORTED")) as Error;
    expect(error.message).toMatch(/over maxGetSize .*stream/);
    let total = 0;
    let largest = 0;
    for await (const chunk of (await store.open("bomb.bin")) as unknown as AsyncIterable<Uint8Array>) {
      total += chunk.byteLength;
      largest = Math.max(largest, chunk.byteLength);
    }
    expect(total).toBe(40 * MiB);
    expect(largest).toBeLessThanOrEqual(2 * MiB);
    // Raised limits: the whole value, inflated a slice at a time into one buffer.
    const trusting = createStore(path, { serialization: "raw", maxRatio: Infinity } as never);
    const whole = (await trusting.get("bomb.bin")) as Uint8Array;
    expect(whole.byteLength).toBe(40 * MiB);
    expect(whole.every((b) => b === 0)).toBe(true);
  });

  it("large values are written through a spool file and read back intact", async () => {
    const path = freshArchive();
    const store = createStore(path, { serialization: "raw" } as never);
    const value = new Uint8Array(3 * MiB + 17).map((_, i) => (i * 31) >> 3);
    await store.putMany([
      ["big", value],
      ["small", new Uint8Array([1, 2, 3])],
    ]);
    expect(Buffer.from((await store.get("big")) as Uint8Array).equals(value)).toBe(true);
    expect(Buffer.from(await readAll(await store.open("big"))).equals(value)).toBe(true);
    expect(unzipOk(path)).toBe(true);
    expect(await leftovers(path)).toEqual([]);
  });
});

describe("zip driver: dead writers", () => {
  it("an append cut short reads as before it, and the next writer restores the archive", async () => {
    const path = freshArchive();
    const store = createStore(path);
    await store.putMany([
      ["a", "first"],
      ["b", "second"],
    ]);
    await store.close();
    // What a writer killed mid-append leaves: the journal, half a new entry over the directory, its lock.
    const fh = await open(path, "r+");
    const dir = await loadDirectory(fh, (await fh.stat()).size, path);
    await saveJournal(path, fh, dir.cdStart);
    await fh.write(Buffer.from("PK\x03\x04 half of a new entry, then the writer died"), 0, undefined, dir.cdStart);
    await fh.close();
    await writeFile(
      join(dirname(path), ".anystore-store.zip.lock"),
      JSON.stringify({ pid: deadPid(), host: hostname(), token: "dead" }),
    );
    expect(unzipOk(path)).toBe(false);

    const reader = createStore(path);
    expect(await collectKeys(reader.keys())).toEqual(["a", "b"]);
    expect(await reader.get("b")).toBe("second");
    expect(await text(await reader.open("a"))).toBe("first");

    const writer = createStore(path);
    await writer.put("c", "third");
    expect(unzipOk(path)).toBe(true);
    expect(await collectKeys(reader.keys())).toEqual(["a", "b", "c"]);
    expect(await leftovers(path)).toEqual([]);
  });

  it("a lock untouched for over a minute is taken over; a live writer's lock is waited for, up to lockTimeout", async () => {
    const path = freshArchive();
    const store = createStore(path);
    await store.put("a", 1);
    const lock = join(dirname(path), ".anystore-store.zip.lock");
    await writeFile(lock, ""); // a writer that died before writing its name, long ago
    const old = new Date(Date.now() - 5 * 60_000);
    await utimes(lock, old, old);
    await store.put("b", 2);
    expect(await leftovers(path)).toEqual([]);

    await writeFile(
      lock,
      JSON.stringify({ pid: process.pid, host: hostname(), token: "someone else in a live process" }),
    );
    const waiting = createStore(path, { lockTimeout: 300 } as never);
    const error = (await rejectsWith(waiting.put("c", 3), "IO")) as Error;
    expect(error.message).toContain(`is being written by process ${process.pid}`);
    expect(await waiting.exists("c")).toBe(false);
    await rm(lock);
  });

  it("sweep() removes temp, spool and lock files left by killed writers, once they are an hour old", async () => {
    const path = freshArchive();
    const store = createStore(path);
    await store.put("a", 1);
    const left = [
      ".anystore-store.zip-0a1b2c.zip.tmp",
      ".anystore-store.zip-3d4e5f.spool",
      ".anystore-store.zip.lock.99aa",
    ];
    const fresh = ".anystore-store.zip-777777.spool";
    const old = new Date(Date.now() - 2 * 60 * 60_000);
    for (const name of [...left, fresh]) await writeFile(join(dirname(path), name), "partial");
    for (const name of left) await utimes(join(dirname(path), name), old, old);
    await writeFile(join(dirname(path), "unrelated.zip.tmp"), "not ours");
    await utimes(join(dirname(path), "unrelated.zip.tmp"), old, old);
    await store.sweep();
    expect((await leftovers(path)).sort()).toEqual([fresh, "unrelated.zip.tmp"].sort());
    expect(await store.get("a")).toBe(1);
  });
});

describe("zip driver: streamed creates", () => {
  it("write() with ifNotExists: one of many racing writers wins, the rest get AlreadyExistsError and change nothing", async () => {
    const path = freshArchive();
    const driver = zipDriver({ path });
    await raceStreamedCreates(driver);
    await rejectsWith(driver.write!("once", { ifNotExists: true }), "ALREADY_EXISTS");
    await driver.close!();
    expect(await leftovers(path)).toEqual([]);
  });
});

describe("zip driver: several stores writing one archive", () => {
  it("take turns through the lock file: every key is there and the archive is sound", async () => {
    const path = freshArchive();
    const stores = [createStore(path), createStore(path), createStore(path)];
    await Promise.all(stores.flatMap((store, s) => Array.from({ length: 15 }, (_, i) => store.put(`s${s}/k${i}`, i))));
    const creates = await Promise.allSettled(stores.map((store, s) => store.put("shared", s, { ifNotExists: true })));
    expect(creates.filter((c) => c.status === "fulfilled").length).toBe(1);
    for (const c of creates)
      if (c.status === "rejected") expect((c.reason as { code: string }).code).toBe("ALREADY_EXISTS");
    expect((await collectKeys(stores[0]!.keys())).length).toBe(46);
    execFileSync("unzip", ["-tq", path]);
  });
});
