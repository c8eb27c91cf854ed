/** Contract cases: open (r with ranges, w with atomic commit and abort), streamed puts, stream() lines. */
import { describe, expect, it } from "vitest";
import type { Suite } from "./contract.js";
import { readAll, rejectsWith, text, utf8 } from "./contract.js";

/** A deterministic stream of `size` bytes in 64 KiB chunks. */
function pattern(size: number): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent >= size) return controller.close();
      const n = Math.min(65536, size - sent);
      controller.enqueue(new Uint8Array(n).map((_, i) => ((sent + i) * 7) & 255));
      sent += n;
    },
  });
}

/** Byte equality without vitest's element-by-element diffing, which is slow on megabytes. */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

async function collectStream<T>(stream: ReadableStream<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of stream as unknown as AsyncIterable<T>) items.push(item);
  return items;
}

export function streams({ store: make }: Suite): void {
  describe("open for reading", () => {
    it("streams the bytes, and byte ranges like Blob.slice", async () => {
      const store = await make();
      await store.put("abc.txt", "abcdef");
      expect(await text(await store.open("abc.txt"))).toBe("abcdef");
      expect(await text(await store.open("abc.txt", "r", { start: 1, end: 4 }))).toBe("bcd");
      expect(await text(await store.open("abc.txt", "r", { start: 2 }))).toBe("cdef");
      expect(await text(await store.open("abc.txt", "r", { end: 2 }))).toBe("ab");
      expect(await text(await store.open("abc.txt", "r", { start: 4, end: 100 }))).toBe("ef");
      expect(await text(await store.open("abc.txt", "r", { start: 10 }))).toBe("");
      expect(await text(await store.open("abc.txt", "rb", { start: 3, end: 3 }))).toBe("");
    });

    it("rejects invalid ranges", async () => {
      const store = await make();
      await store.put("r", "abcdef");
      await rejectsWith(store.open("r", "r", { start: -1 }), "INVALID_ARGUMENT");
      await rejectsWith(store.open("r", "r", { start: 4, end: 2 }), "INVALID_ARGUMENT");
      await rejectsWith(store.open("r", "r", { start: 1.5 }), "INVALID_ARGUMENT");
    });
  });

  describe("open for writing", () => {
    it("makes the value visible when closed, not before", async () => {
      const store = await make();
      await store.put("w", "old");
      const writer = (await store.open("w", "w")).getWriter();
      await writer.write(utf8("new "));
      await writer.write(utf8("value"));
      expect(await store.get("w")).toBe("old");
      await writer.close();
      expect(await store.get("w")).toBe("new value");
    });

    it("an aborted write leaves the previous value byte for byte, and no stray key", async () => {
      const store = await make();
      const previous = new Uint8Array([0, 255, 1, 254, 2]);
      await store.put("dir/keep.bin", previous);
      const writer = (await store.open("dir/keep.bin", "w")).getWriter();
      await writer.write(utf8("partial"));
      await writer.abort(new Error("user cancelled"));
      expect(await store.get("dir/keep.bin", { serialization: "raw" })).toEqual(previous);
      const fresh = (await store.open("dir/new.bin", "w")).getWriter();
      await fresh.write(utf8("partial"));
      await fresh.abort();
      expect(await store.exists("dir/new.bin")).toBe(false);
      const keys: string[] = [];
      for await (const key of store.keys()) keys.push(key);
      expect(keys).toEqual(["dir/keep.bin"]);
    });

    it("a failing source stream in put leaves the previous value", async () => {
      const store = await make();
      await store.put("f", "before");
      let pulls = 0;
      const failing = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (pulls++ === 0) controller.enqueue(utf8("half"));
          else controller.error(new Error("source broke"));
        },
      });
      await expect(store.put("f", failing)).rejects.toThrow();
      expect(await store.get("f")).toBe("before");
    });

    it("put streams ReadableStreams and Blobs as raw bytes", async () => {
      const store = await make();
      await store.put("stream.txt", new Blob(["from ", "a blob"]).stream());
      expect(await store.get("stream.txt")).toBe("from a blob");
      await store.put("blob.json", new Blob(['{"a":1}']));
      expect(await store.get("blob.json")).toEqual({ a: 1 });
    });

    it("moves a few MiB through streams intact", async () => {
      const store = await make();
      const size = 3 * 1024 * 1024 + 123;
      await store.put("big.bin", pattern(size));
      expect((await store.info("big.bin")).size).toBe(size);
      const back = await readAll(await store.open("big.bin"));
      const expected = await readAll(pattern(size));
      expect(back.byteLength).toBe(size);
      expect(sameBytes(back, expected)).toBe(true);
      const middle = await readAll(await store.open("big.bin", "r", { start: 1_000_000, end: 2_500_000 }));
      expect(sameBytes(middle, expected.subarray(1_000_000, 2_500_000))).toBe(true);
      expect(await store.checksum("big.bin")).toMatch(/^[0-9a-f]{64}$/);
    });
  });

  describe("stream() lines", () => {
    it("yields JSON lines as values, text lines as strings, dropping \\r and a final newline", async () => {
      const store = await make();
      await store.put("lines.jsonl", utf8('{"a":1}\r\n[2]\nplain text\n\n"q"\n'));
      expect(await collectStream(store.stream("lines.jsonl"))).toEqual([{ a: 1 }, [2], "plain text", "", "q"]);
      await store.put("nofinal", utf8("x\ny"));
      expect(await collectStream(store.stream("nofinal"))).toEqual(["x", "y"]);
    });

    it("gives Uint8Array lines in raw mode", async () => {
      const store = await make({ serialization: "raw" });
      await store.put("raw", utf8("ab\ncd\n"));
      expect(await collectStream(store.stream("raw"))).toEqual([utf8("ab"), utf8("cd")]);
    });

    it("errors with NotFoundError on the first read of a missing key", async () => {
      const store = await make();
      const reader = store.stream("missing").getReader();
      await rejectsWith(reader.read(), "NOT_FOUND");
    });
  });
}
