/**
 * Compression (SPEC 14) on real stores, checked against Python's own gzip and zlib modules
 * (Debian's /usr/bin/python3): what we write, Python decompresses byte for byte, and what Python
 * anystore writes (`GzipFile(filename="", mtime=0)`), we read byte for byte.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { fflateCodec } from "../../src/core/compression-fallback.js";
import type { Compression, RunningServer } from "../../src/index.node.js";
import { createStore, mirror, serve } from "../../src/index.node.js";
import { readAll, rejectsWith, text, utf8 } from "../shared/contract.js";
import { TMP } from "./tmp.js";

let counter = 0;
const freshDir = () => join(TMP, `compression-${process.pid}-${++counter}`);

/** Runs Python with stdin as bytes; returns stdout. */
function python(script: string, input: Uint8Array = new Uint8Array(0)): Buffer {
  return execFileSync("/usr/bin/python3", ["-c", script], { input, maxBuffer: 1 << 30 });
}

/** Python's decoder for each format. */
const PY_DECOMPRESS: Record<Compression, string> = {
  gzip: "import gzip,sys; sys.stdout.buffer.write(gzip.decompress(sys.stdin.buffer.read()))",
  deflate: "import zlib,sys; sys.stdout.buffer.write(zlib.decompress(sys.stdin.buffer.read()))",
  "deflate-raw": "import zlib,sys; sys.stdout.buffer.write(zlib.decompress(sys.stdin.buffer.read(), -15))",
};

/** What Python anystore's gz codec writes: `GzipFile(filename="", fileobj=fh, mode="wb", mtime=0)`. */
const PY_ANYSTORE_GZIP = [
  "import gzip, io, sys",
  "out = io.BytesIO()",
  "with gzip.GzipFile(filename='', fileobj=out, mode='wb', mtime=0) as f: f.write(sys.stdin.buffer.read())",
  "sys.stdout.buffer.write(out.getvalue())",
].join("\n");

/** Values of several shapes: text, JSON, incompressible bytes, empty. */
function samples(): Record<string, Uint8Array> {
  const random = new Uint8Array(300_000);
  for (let i = 0; i < random.length; i += 65_536) crypto.getRandomValues(random.subarray(i, i + 65_536));
  return {
    text: utf8("Grüße, world!\n".repeat(5000)),
    json: utf8(
      JSON.stringify(Array.from({ length: 3000 }, (_, i) => ({ id: i, name: `item ${i}`, tags: ["a", i % 7] }))),
    ),
    random,
    empty: new Uint8Array(0),
  };
}

const servers: RunningServer[] = [];
afterAll(() => Promise.all(servers.map((s) => s.close())));

describe("compression is compatible with Python's modules, byte for byte", () => {
  for (const format of ["gzip", "deflate", "deflate-raw"] as const) {
    it(`Python decompresses what we store with ${format}`, async () => {
      const dir = freshDir();
      const store = createStore(dir, { serialization: "raw" });
      for (const [name, value] of Object.entries(samples())) {
        await store.put(`v/${name}`, value, { compression: format });
        const stored = await readFile(join(dir, "v", name));
        expect(Buffer.compare(python(PY_DECOMPRESS[format], stored), Buffer.from(value)), name).toBe(0);
        // Streamed writes give the same stored bytes.
        const sink = await store.open(`s/${name}`, "w", { compression: format });
        const writer = sink.getWriter();
        for (let at = 0; at < value.byteLength; at += 10_000) await writer.write(value.slice(at, at + 10_000));
        await writer.close();
        expect(Buffer.compare(await readFile(join(dir, "s", name)), stored), name).toBe(0);
      }
    });
  }

  it("our gzip header is Python anystore's: no name, mtime 0, OS byte 255", async () => {
    const dir = freshDir();
    const store = createStore(dir);
    await store.put("h.txt", "hello", { compression: "gzip" });
    const ours = await readFile(join(dir, "h.txt"));
    const theirs = python(PY_ANYSTORE_GZIP, utf8("hello"));
    // ID, method, flags, mtime: identical; XFL (byte 8) is the compression level's hint.
    expect(ours.subarray(0, 8).toString("hex")).toBe(theirs.subarray(0, 8).toString("hex"));
    expect(ours.subarray(0, 8).toString("hex")).toBe("1f8b080000000000");
    expect([ours[9], theirs[9]]).toEqual([255, 255]);
  });

  it("we read what Python anystore's gz codec wrote, through get, open, stream and a store option", async () => {
    const dir = freshDir();
    await mkdir(join(dir, "py"), { recursive: true });
    const values = samples();
    for (const [name, value] of Object.entries(values)) {
      await writeFile(join(dir, "py", `${name}.gz`), python(PY_ANYSTORE_GZIP, value));
    }
    await writeFile(join(dir, "py/lines.jsonl.gz"), python(PY_ANYSTORE_GZIP, utf8('{"a":1}\n{"a":2}\n"three"\n')));
    const raw = createStore(dir, { serialization: "raw" });
    for (const [name, value] of Object.entries(values)) {
      const got = (await raw.get(`py/${name}.gz`, { compression: "gzip" })) as Uint8Array;
      expect(Buffer.compare(Buffer.from(got), Buffer.from(value)), name).toBe(0);
      const streamed = await readAll(await raw.open(`py/${name}.gz`, "r", { compression: "gzip" }));
      expect(Buffer.compare(Buffer.from(streamed), Buffer.from(value)), name).toBe(0);
    }
    const gz = createStore(dir, { compression: "gzip" });
    expect(await gz.get("py/text.gz")).toBe(new TextDecoder().decode(values.text));
    const rows: unknown[] = [];
    for await (const row of gz.stream("py/lines.jsonl.gz")) rows.push(row);
    expect(rows).toEqual([{ a: 1 }, { a: 2 }, "three"]);
    // Python's name for gzip works too.
    expect(await raw.get("py/empty.gz", { compression: "gz" as Compression })).toEqual(new Uint8Array(0));
  });
});

describe("the store option compression", () => {
  it("compresses every value written and decompresses every value read, whatever the call", async () => {
    const dir = freshDir();
    const store = createStore(dir, { compression: "gzip" });
    const doc = { rows: Array.from({ length: 500 }, (_, i) => `row ${i}`) };
    await store.put("a.json", doc);
    await store.putMany([
      ["b", "bee"],
      ["c", [1, 2, 3]],
    ]);
    const when = await store.touch("t");
    expect(await store.get("a.json")).toEqual(doc);
    expect(Object.fromEntries(await store.getMany(["b", "c", "missing"]))).toEqual({ b: "bee", c: [1, 2, 3] });
    expect(new Date((await store.get("t")) as string)).toEqual(when);
    const values: unknown[] = [];
    for await (const value of store.values({ prefix: "" })) values.push(value);
    expect(values).toHaveLength(4);
    // On disk: gzip, as Python reads it; size and checksum are the stored bytes'.
    const stored = await readFile(join(dir, "a.json"));
    expect(JSON.parse(python(PY_DECOMPRESS.gzip, stored).toString())).toEqual(doc);
    expect((await store.info("a.json")).size).toBe(stored.byteLength);
    expect(await store.checksum("a.json")).toBe(createHash("sha256").update(stored).digest("hex"));
    // `compression: false` reads and writes the stored bytes as they are.
    const asStored = (await store.get("a.json", { compression: false, serialization: "raw" })) as Uint8Array;
    expect(Buffer.compare(Buffer.from(asStored), stored)).toBe(0);
    expect(await store.pop("b")).toBe("bee");
    expect(await store.exists("b")).toBe(false);
  });

  it("mirror moves values through each store's own option: decompressed from one, compressed into the other", async () => {
    const gz = createStore(freshDir(), { compression: "gzip" });
    await gz.put("a.json", { x: 1 });
    await gz.put("big.txt", "y".repeat(3 << 20));
    const plainDir = freshDir();
    const result = await mirror(gz, createStore(plainDir));
    expect([result.mirrored, result.failed]).toEqual([2, 0]);
    expect(await readFile(join(plainDir, "a.json"), "utf8")).toBe('{"x":1}');
    expect((await readFile(join(plainDir, "big.txt"))).byteLength).toBe(3 << 20);
    const back = createStore(freshDir(), { compression: "deflate" });
    await mirror(createStore(plainDir), back);
    expect(await back.get("a.json")).toEqual({ x: 1 });
  });

  it("ranges of open(key, 'r') are of the decompressed bytes; ifNotExists holds", async () => {
    const store = createStore(freshDir(), { compression: "deflate" });
    await store.put("digits", "0123456789".repeat(10_000));
    expect(await text(await store.open("digits", "r", { start: 99_995, end: 100_000 }))).toBe("56789");
    expect(await text(await store.open("digits", "r", { start: 3, end: 6 }))).toBe("345");
    await rejectsWith(store.put("digits", "x", { ifNotExists: true }), "ALREADY_EXISTS");
    await store.put("new", "x", { ifNotExists: true });
    expect(await store.get("new")).toBe("x");
  });

  it("works on the in-process memory store (past its side door) and over HTTP (the server moves stored bytes)", async () => {
    const backing = createStore("memory://", { compression: "gzip" });
    await backing.put("k", { hello: "world" });
    expect(await backing.get("k")).toEqual({ hello: "world" });
    const server = await serve(backing);
    servers.push(server);
    const plain = createStore(`anystore+${server.url}`, { serialization: "raw" });
    const over = (await plain.get("k")) as Uint8Array;
    expect([over[0], over[1]]).toEqual([0x1f, 0x8b]); // gzip on the wire, as stored
    const client = createStore(`anystore+${server.url}`, { compression: "gzip" });
    expect(await client.get("k")).toEqual({ hello: "world" });
    await client.put("up", "from the client");
    expect(await backing.get("up")).toBe("from the client");
  });
});

describe("bad input", () => {
  it("a value that is not compressed, or is cut short, is a SerializationError naming the key", async () => {
    const dir = freshDir();
    const store = createStore(dir);
    await store.put("plain.txt", "not compressed at all");
    const good = python(PY_ANYSTORE_GZIP, utf8("x".repeat(100_000)));
    await writeFile(join(dir, "cut.gz"), good.subarray(0, good.byteLength - 6));
    const flipped = Buffer.from(good);
    flipped[flipped.byteLength - 6] ^= 0xff; // the CRC no longer matches
    await writeFile(join(dir, "crc.gz"), flipped);
    for (const key of ["plain.txt", "cut.gz", "crc.gz"]) {
      const error = await rejectsWith(store.get(key, { compression: "gzip" }), "SERIALIZATION");
      expect((error as { key?: string }).key).toBe(key);
      const stream = await store.open(key, "r", { compression: "gzip" });
      await rejectsWith(readAll(stream), "SERIALIZATION");
      await rejectsWith(store.getMany([key], { compression: "gzip" }), "SERIALIZATION");
    }
    await rejectsWith(store.get("plain.txt", { compression: "deflate" }), "SERIALIZATION");
    await rejectsWith(store.get("missing", { compression: "gzip" }), "NOT_FOUND");
  });

  it("an unknown format is InvalidArgumentError; Python's other codecs are UnsupportedError with a hint", async () => {
    const store = createStore(freshDir());
    for (const format of ["brotli", "gzip2", "GZIPX"]) {
      await rejectsWith(store.put("k", "v", { compression: format as Compression }), "INVALID_ARGUMENT");
      await rejectsWith(store.get("k", { compression: format as Compression }), "INVALID_ARGUMENT");
    }
    for (const format of ["zst", "bz2", "xz", "lz4", "zstd"]) {
      const error = await rejectsWith(store.put("k", "v", { compression: format as Compression }), "UNSUPPORTED");
      expect((error as Error).message).toMatch(/Python anystore's codecs .* use "gzip"/);
    }
    const option = createStore(freshDir(), { compression: "xz" as Compression });
    await rejectsWith(option.get("k"), "UNSUPPORTED");
    expect(await store.exists("k")).toBe(false);
  });
});

describe("a failing sink fails the compressed write, never hangs it", () => {
  it("a key/folder conflict on fs and a server's 413 mid-upload reject the write", async () => {
    const store = createStore(freshDir());
    await store.put("a", "file");
    const write = async (target: typeof store, key: string, size: number) => {
      const writer = (await target.open(key, "w", { compression: "gzip" })).getWriter();
      const chunk = new Uint8Array(64 * 1024);
      for (let sent = 0; sent < size; sent += chunk.byteLength) {
        crypto.getRandomValues(chunk);
        await writer.write(chunk.slice());
      }
      await writer.close();
    };
    await rejectsWith(write(store, "a/b", 1024), "CONFLICT");
    const server = await serve(createStore("memory://"), { maxBodyBytes: 100_000 });
    servers.push(server);
    const remote = createStore(`anystore+${server.url}`);
    const error = await rejectsWith(write(remote, "big", 8 << 20), "IO");
    expect((error as { status?: number }).status).toBe(413);
  });
});

describe("large values stream through the codec", () => {
  it("64 MiB written through open(key, 'w') and read back through open(key, 'r'), chunk by chunk", async () => {
    const dir = freshDir();
    const store = createStore(dir);
    const chunk = new Uint8Array(1 << 20);
    const hashIn = createHash("sha256");
    const sink = (await store.open("big.bin", "w", { compression: "gzip" })).getWriter();
    for (let i = 0; i < 64; i++) {
      // Half random, half runs: compressible, but not trivially.
      crypto.getRandomValues(chunk.subarray(0, 65_536));
      chunk.fill(i, 65_536);
      hashIn.update(chunk);
      await sink.write(chunk.slice());
    }
    await sink.close();
    const hashOut = createHash("sha256");
    let size = 0;
    const reader = (await store.open("big.bin", "r", { compression: "gzip" })).getReader();
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      hashOut.update(r.value);
      size += r.value.byteLength;
    }
    expect(size).toBe(64 << 20);
    expect(hashOut.digest("hex")).toBe(hashIn.digest("hex"));
    expect((await store.info("big.bin")).size).toBeLessThan(16 << 20);
  });
});

describe("a compressed read cancelled midway", () => {
  it("lets go of the stored value: it can be rewritten and read again", async () => {
    const store = createStore(freshDir(), { serialization: "raw", compression: "gzip" });
    const value = new Uint8Array(4 << 20);
    crypto.getRandomValues(value.subarray(0, 65_536));
    await store.put("v", value);
    const reader = (await store.open("v", "r")).getReader();
    expect((await reader.read()).value!.byteLength).toBeGreaterThan(0);
    await reader.cancel();
    await store.put("v", value.subarray(1));
    const back = (await store.get("v")) as Uint8Array;
    expect(back.byteLength).toBe(value.byteLength - 1);
    expect(Buffer.compare(Buffer.from(back), Buffer.from(value.subarray(1)))).toBe(0);
  });
});

describe("fflate fallback (runtimes whose CompressionStream lacks a format)", () => {
  for (const format of ["gzip", "deflate", "deflate-raw"] as const) {
    it(`${format}: Python reads its output, it reads Python's, a cut input errors`, async () => {
      const value = samples().json;
      const through = async (data: Uint8Array, direction: "compress" | "decompress") =>
        readAll(new Blob([data]).stream().pipeThrough(fflateCodec(format, direction)));
      const ours = await through(value, "compress");
      expect(Buffer.compare(python(PY_DECOMPRESS[format], ours), Buffer.from(value))).toBe(0);
      const theirs = await new Response(new Blob([value]).stream().pipeThrough(new CompressionStream(format))).bytes();
      expect(Buffer.compare(Buffer.from(await through(theirs, "decompress")), Buffer.from(value))).toBe(0);
      await expect(through(theirs.subarray(0, theirs.byteLength >> 1), "decompress")).rejects.toThrow();
    });
  }
});
