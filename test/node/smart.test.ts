import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createStore,
  isAnystoreError,
  smartOpen,
  smartRead,
  smartStream,
  smartWrite,
  splitUri,
} from "../../src/index.node.js";

/** Outside test/.tmp, which every vitest run's global setup empties (other runs share this machine). */
let TMP = "";
beforeAll(async () => {
  TMP = await mkdtemp(join(tmpdir(), "anystore-smart-test-"));
});
afterAll(() => rm(TMP, { recursive: true, force: true }));

async function collect<T>(stream: ReadableStream<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of stream as unknown as AsyncIterable<T>) out.push(item);
  return out;
}

describe("splitUri", () => {
  it.each([
    ["s3://bucket/reports/2026.json", "s3://bucket/reports", "2026.json"],
    ["./data/x.txt", "./data", "x.txt"],
    ["/abs/dir/x.txt", "/abs/dir", "x.txt"],
    ["/x.txt", "/", "x.txt"],
    ["x.txt", ".", "x.txt"],
    ["file:///tmp/x", "file:///tmp", "x"],
    ["file:///x", "file:///", "x"],
    ["memory://name/a", "memory://name", "a"],
    ["https://example.org/a/page?q=1/2", "https://example.org/a", "page?q=1/2"],
    ["anystore+http://127.0.0.1:8787/k", "anystore+http://127.0.0.1:8787", "k"],
  ])("%s -> %s + %s", (uri, store, key) => {
    expect(splitUri(uri)).toEqual({ store, key });
  });

  it("refuses a uri that names no key", () => {
    for (const uri of ["memory://name", "s3://bucket/", "", "./dir/"]) {
      expect(() => splitUri(uri)).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    }
  });
});

describe("smart helpers", () => {
  it("write and read a file by path: bytes by default, text with r, JSON for other values", async () => {
    const uri = join(TMP, "a/b/data.json");
    await smartWrite(uri, { n: 1 });
    expect(await readFile(uri, "utf8")).toBe('{"n":1}');
    const bytes = await smartRead(uri);
    expect(bytes).toBeInstanceOf(Uint8Array);
    expect(new TextDecoder().decode(bytes)).toBe('{"n":1}');
    expect(await smartRead(uri, "r")).toBe('{"n":1}');
    await smartWrite(`file://${join(TMP, "plain.txt")}`, "text as is");
    expect(await smartRead(join(TMP, "plain.txt"), "r")).toBe("text as is");
  });

  it("work with any store uri, and pass store options", async () => {
    await smartWrite("memory://smart-test/k", new Uint8Array([1, 2, 3]));
    expect(await smartRead("memory://smart-test/k")).toEqual(new Uint8Array([1, 2, 3]));
    expect(await createStore("memory://smart-test").get("k", { serialization: "raw" })).toEqual(
      new Uint8Array([1, 2, 3]),
    );
    await smartWrite("memory://smart-test/j", "123", { serialization: "json" });
    expect(await smartRead("memory://smart-test/j", "r")).toBe('"123"');
  });

  it("stream lines, as bytes or text", async () => {
    const uri = join(TMP, "lines.txt");
    await writeFile(uri, "one\r\ntwo\n\nfour\n");
    expect(await collect(smartStream(uri, "r"))).toEqual(["one", "two", "", "four"]);
    const raw = await collect(smartStream(uri));
    expect(raw.map((l) => new TextDecoder().decode(l))).toEqual(["one", "two", "", "four"]);
  });

  it("open readable and writable streams; a write appears on close", async () => {
    const uri = join(TMP, "streamed/out.bin");
    const out = await smartOpen(uri, "wb");
    const writer = out.getWriter();
    await writer.write(new Uint8Array([1, 2]));
    await writer.write(new Uint8Array([3]));
    expect(await createStore(join(TMP, "streamed")).exists("out.bin")).toBe(false);
    await writer.close();
    expect(new Uint8Array(await readFile(uri))).toEqual(new Uint8Array([1, 2, 3]));
    const chunks = await collect(await smartOpen(uri, "rb"));
    expect(chunks.reduce((n, c) => n + c.byteLength, 0)).toBe(3);

    const text = await smartOpen(join(TMP, "streamed/text.txt"), "w");
    const w = text.getWriter();
    await w.write("héllo ");
    await w.write(new TextEncoder().encode("wörld"));
    await w.close();
    expect((await collect(await smartOpen(join(TMP, "streamed/text.txt"), "r"))).join("")).toBe("héllo wörld");
  });

  it("a missing key is NotFoundError; a bad mode InvalidArgumentError", async () => {
    const missing = await smartRead(join(TMP, "nope/missing.txt")).catch((e: unknown) => e);
    expect(isAnystoreError(missing, "NOT_FOUND")).toBe(true);
    const mode = await smartOpen(join(TMP, "x"), "a" as "r").catch((e: unknown) => e);
    expect(isAnystoreError(mode, "INVALID_ARGUMENT")).toBe(true);
  });
});
