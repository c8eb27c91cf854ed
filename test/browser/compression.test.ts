/**
 * Compression (SPEC 14) in Chromium: its own CompressionStream/DecompressionStream under the
 * store, on IndexedDB. Python's side is in test/node/compression.test.ts; here the bytes Python
 * anystore wrote for "anystore é\n" x 20 (`GzipFile(filename="", mtime=0)`) are read back.
 */
import { describe, expect, it } from "vitest";
import type { Compression } from "../../src/index.browser.js";
import { createStore, isAnystoreError } from "../../src/index.browser.js";

const PYTHON_GZIP = new Uint8Array([
  31, 139, 8, 0, 0, 0, 0, 0, 2, 255, 75, 204, 171, 44, 46, 201, 47, 74, 85, 56, 188, 146, 43, 113, 4, 176, 1, 4, 191,
  117, 195, 240, 0, 0, 0,
]);

let counter = 0;
const fresh = (options = {}) => createStore(`idb://compression-${Date.now()}-${++counter}`, options);

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (error) {
    return isAnystoreError(error) ? error.code : String(error);
  }
  return undefined;
}

describe("compression in the browser", () => {
  for (const format of ["gzip", "deflate", "deflate-raw"] as const) {
    it(`${format}: values round-trip, streamed and whole, and are stored compressed`, async () => {
      const store = fresh({ compression: format });
      const doc = { text: "Grüße ".repeat(2000) };
      await store.put("doc", doc);
      expect(await store.get("doc")).toEqual(doc);
      const raw = (await store.get("doc", { compression: false, serialization: "raw" })) as Uint8Array;
      expect(raw.byteLength).toBeLessThan(1000);
      const sink = (await store.open("streamed", "w")).getWriter();
      for (let i = 0; i < 50; i++) await sink.write(new TextEncoder().encode(`line ${i}\n`));
      await sink.close();
      const lines: unknown[] = [];
      for await (const line of store.stream("streamed")) lines.push(line);
      expect(lines).toHaveLength(50);
      expect(lines[49]).toBe("line 49");
    });
  }

  it("reads what Python anystore's gz codec wrote; the gzip header it writes is Python's", async () => {
    const store = fresh({ serialization: "raw" });
    await store.put("py.gz", PYTHON_GZIP);
    const text = new TextDecoder().decode((await store.get("py.gz", { compression: "gzip" })) as Uint8Array);
    expect(text).toBe("anystore é\n".repeat(20));
    await store.put("ours.gz", "anystore é\n".repeat(20), { compression: "gzip" });
    const ours = (await store.get("ours.gz")) as Uint8Array;
    expect(Array.from(ours.subarray(0, 8))).toEqual(Array.from(PYTHON_GZIP.subarray(0, 8)));
    expect(ours[9]).toBe(255);
  });

  it("corrupt or cut values are SerializationError; unknown formats InvalidArgumentError; zst UnsupportedError", async () => {
    const store = fresh({ serialization: "raw" });
    await store.put("cut.gz", PYTHON_GZIP.subarray(0, 20));
    await store.put("plain", "not compressed");
    expect(await codeOf(store.get("cut.gz", { compression: "gzip" }))).toBe("SERIALIZATION");
    expect(await codeOf(store.get("plain", { compression: "deflate" }))).toBe("SERIALIZATION");
    expect(await codeOf(store.get("plain", { compression: "brotli" as Compression }))).toBe("INVALID_ARGUMENT");
    expect(await codeOf(store.put("z", "v", { compression: "zst" as Compression }))).toBe("UNSUPPORTED");
  });
});
