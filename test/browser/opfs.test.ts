import { describe, expect, it } from "vitest";
import type { Store } from "../../src/index.browser.js";
import { createStore } from "../../src/index.browser.js";
import { contractSuite } from "../shared/contract.js";
import { racerValue } from "./opfs-race.js";

const run = `anystore-test-${Date.now().toString(36)}`;
let counter = 0;

const removeRun = async () => {
  const root = await navigator.storage.getDirectory();
  await root.removeEntry(run, { recursive: true }).catch(() => {});
};

contractSuite({
  name: "opfs (chromium)",
  make: (options) => createStore(`opfs://${run}/s${counter++}`, options),
  reopen: (store) => createStore(store.uri),
  cleanup: removeRun,
});

/** A fast rolling checksum over 32-bit words (sha256 in JS would dominate the 256 MiB test's time). */
function checksum32() {
  let h = 0x811c9dc5;
  return {
    update(bytes: Uint8Array) {
      const words = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >> 2);
      for (let i = 0; i < words.length; i++) h = Math.imul(h ^ words[i]!, 16777619);
      for (let i = words.length << 2; i < bytes.byteLength; i++) h = Math.imul(h ^ bytes[i]!, 16777619);
    },
    value: () => h >>> 0,
  };
}

/** Samples the page's JS heap (which counts ArrayBuffers) while `fn` runs; resolves to the peak growth in MiB. */
async function peakHeapGrowth(fn: () => Promise<void>): Promise<number> {
  const used = () => (performance as unknown as { memory: { usedJSHeapSize: number } }).memory.usedJSHeapSize;
  const base = used();
  let peak = base;
  const timer = setInterval(() => (peak = Math.max(peak, used())), 20);
  try {
    await fn();
  } finally {
    clearInterval(timer);
  }
  return (Math.max(peak, used()) - base) / 2 ** 20;
}

describe("opfs driver", () => {
  const fresh = () => createStore(`opfs://${run}/x${counter++}`);

  it("streams 256 MiB in and out with bounded memory", { timeout: 180_000 }, async () => {
    const store = fresh();
    const size = 256 * 2 ** 20;
    const chunk = 2 ** 20;
    const expected = checksum32();
    let sent = 0;
    // Generated on demand: the source never holds more than one chunk.
    const source = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= size) return controller.close();
        const block = new Uint8Array(chunk);
        new Uint32Array(block.buffer).fill(0x9e3779b9 * (sent / chunk + 1));
        expected.update(block);
        controller.enqueue(block);
        sent += chunk;
      },
    });
    const t = performance.now();
    const writeGrowth = await peakHeapGrowth(() => store.put("big/file.bin", source));
    expect((await store.info("big/file.bin")).size).toBe(size);
    let read = 0;
    const actual = checksum32();
    const readGrowth = await peakHeapGrowth(async () => {
      for await (const part of (await store.open("big/file.bin")) as unknown as AsyncIterable<Uint8Array>) {
        actual.update(part);
        read += part.byteLength;
      }
    });
    console.log(
      `256 MiB: write ${(performance.now() - t) | 0} ms (+${writeGrowth | 0} MiB heap), read +${readGrowth | 0} MiB`,
    );
    expect(read).toBe(size);
    expect(actual.value()).toBe(expected.value());
    // A buffered implementation would grow by the whole 256 MiB.
    expect(writeGrowth).toBeLessThan(128);
    expect(readGrowth).toBeLessThan(128);
    await store.delete("big/file.bin");
    await store.close();
  });

  it("a ttl set through another store on the same folder is enforced (stores without ttls skip the checks)", async () => {
    const dir = `${run}/ttl${counter++}`;
    const a = createStore(`opfs://${dir}`, { throwOnMissing: false });
    await a.put("plain", 1); // a has seen no ttl yet
    const b = createStore(`opfs://${dir}/`);
    await b.put("brief", "soon gone", { ttl: 1 });
    expect(await a.get("brief")).toBe("soon gone");
    await new Promise((resolve) => setTimeout(resolve, 1400));
    expect(await a.exists("brief")).toBe(false);
    const keys: string[] = [];
    for await (const key of a.keys()) keys.push(key);
    expect(keys).toEqual(["plain"]);
    await Promise.all([a.close(), b.close()]);
  });

  it("leaves no temp files behind and removes emptied folders", async () => {
    const dir = `${run}/clean${counter++}`;
    const store = createStore(`opfs://${dir}`);
    await store.put("a/b/c.txt", "one");
    const w = (await store.open("a/b/d.txt", "w")).getWriter();
    await w.write(new Uint8Array([1, 2, 3]));
    await w.abort("no");
    await store.put("a/b/c.txt", "two");
    const names = async (path: string[]) => {
      let handle = await navigator.storage.getDirectory();
      for (const part of path) handle = await handle.getDirectoryHandle(part);
      const found: string[] = [];
      for await (const name of (handle as unknown as { keys(): AsyncIterable<string> }).keys()) found.push(name);
      return found.sort();
    };
    expect(await names([...dir.split("/"), "a", "b"])).toEqual(["c.txt"]);
    await store.delete("a/b/c.txt");
    expect(await names(dir.split("/"))).toEqual([]);
    // The emptied folder is gone, so its name can now be a key.
    await store.put("a", "now a key");
    expect(await store.get("a")).toBe("now a key");
    await store.close();
  });

  it("concurrent writers to one key leave exactly one of their values, whole", async () => {
    const store = fresh();
    const values = Array.from({ length: 8 }, (_, i) => new Uint8Array(1000 + i * 5000).fill(i + 1));
    await Promise.all([
      ...values.map((v) => store.put("d/k.bin", v)),
      store.delete("d/other"),
      store.put("d/sib", "x"),
    ]);
    const got = (await store.get("d/k.bin", { serialization: "raw" })) as Uint8Array;
    const i = got[0]! - 1;
    expect(got).toEqual(values[i]);
    const keys: string[] = [];
    for await (const key of store.keys()) keys.push(key);
    expect(keys.sort()).toEqual(["d/k.bin", "d/sib"]);
    await store.close();
  });

  it("reads files written outside anystore, and lists lazily", async () => {
    const dir = `${run}/outside${counter++}`;
    let handle = await navigator.storage.getDirectory();
    for (const part of [...dir.split("/"), "docs"]) handle = await handle.getDirectoryHandle(part, { create: true });
    const file = await handle.getFileHandle("readme.md", { create: true });
    const writable = await file.createWritable();
    await writable.write("# hello");
    await writable.close();
    const store = createStore(`opfs://${dir}`);
    expect(await store.get("docs/readme.md")).toBe("# hello");
    expect((await store.info("docs/readme.md")).contentType).toBe("text/markdown");
    for await (const key of store.keys()) {
      expect(key).toBe("docs/readme.md");
      break;
    }
    await store.close();
  });

  /** Runs `racers` creates of `key` in a new worker (a store of its own); resolves to each one's outcome. */
  const raceInWorker = (dir: string, key: string, racers: number[], streamed: boolean) =>
    new Promise<string[]>((resolve, reject) => {
      const worker = new Worker(new URL("./opfs-race-worker.ts", import.meta.url), { type: "module" });
      const timer = setTimeout(() => reject(new Error("the worker did not answer within 50 s")), 50_000);
      const done = () => {
        clearTimeout(timer);
        worker.terminate();
      };
      worker.onmessage = (event) => {
        done();
        resolve(event.data);
      };
      worker.onerror = (event) => {
        done();
        reject(new Error(`worker error: ${event.message}`));
      };
      worker.postMessage({ dir, key, racers, streamed });
    });

  it("100 creates of one key from two workers and two stores of the page: exactly one wins (Web Locks)", {
    timeout: 60_000,
  }, async () => {
    const dir = `${run}/race${counter++}`;
    const stores = [createStore(`opfs://${dir}`), createStore(`opfs://${dir}`)];
    expect((await stores[0]!.capabilities()).ifNotExists).toBe(true);
    for (const streamed of [false, true]) {
      const key = streamed ? "streamed" : "bytes";
      const ids = (from: number) => Array.from({ length: 25 }, (_, i) => from + i);
      const inPage = (store: Store, racers: number[]) =>
        Promise.all(
          racers.map((i) =>
            store.put(key, streamed ? new Blob([racerValue(i)]) : racerValue(i), { ifNotExists: true }).then(
              () => "won",
              (error) => (error as { code?: string })?.code ?? String(error),
            ),
          ),
        );
      const outcomes = (
        await Promise.all([
          raceInWorker(dir, key, ids(0), streamed),
          raceInWorker(dir, key, ids(25), streamed),
          inPage(stores[0]!, ids(50)),
          inPage(stores[1]!, ids(75)),
        ])
      ).flat();
      expect(outcomes.filter((o) => o !== "won" && o !== "ALREADY_EXISTS")).toEqual([]);
      const winners = outcomes.flatMap((o, i) => (o === "won" ? [i] : []));
      expect(winners).toHaveLength(1);
      expect(await stores[0]!.get(key, { serialization: "raw" })).toEqual(racerValue(winners[0]!));
    }
    // Refused creates leave no temp files behind.
    let folder = await navigator.storage.getDirectory();
    for (const part of dir.split("/")) folder = await folder.getDirectoryHandle(part);
    const names: string[] = [];
    for await (const name of (folder as unknown as { keys(): AsyncIterable<string> }).keys()) names.push(name);
    expect(names.sort()).toEqual(["bytes", "streamed"]);
    await Promise.all(stores.map((s) => s.close()));
  });

  it("works in a dedicated worker, through synchronous access handles", { timeout: 60_000 }, async () => {
    const dir = `${run}/worker${counter++}`;
    const worker = new Worker(new URL("./opfs-worker.ts", import.meta.url), { type: "module" });
    const result = await new Promise<{ ok: boolean; steps: Record<string, unknown>; error?: string }>(
      (resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("the worker did not answer within 50 s")), 50_000);
        worker.onmessage = (event) => {
          clearTimeout(timer);
          resolve(event.data);
        };
        worker.onerror = (event) => {
          clearTimeout(timer);
          reject(new Error(`worker error: ${event.message}`));
        };
        worker.postMessage({ dir });
      },
    );
    worker.terminate();
    expect(result.error).toBeUndefined();
    expect(result.steps).toEqual({
      syncAccess: true,
      roundTrip: true,
      json: { from: "worker" },
      visibleBeforeClose: false,
      range: "worker",
      changedMidRead: [1 << 20, 3, "NotReadableError"],
      afterChange: 10,
      afterAbort: "hello worker",
      conflict: "CONFLICT",
      keys: ["bin/big.bin", "bin/three.bin", "doc.json", "stream.txt"],
      checksum: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    // What the worker wrote, the window reads.
    const store = createStore(`opfs://${dir}`);
    expect(await store.get("stream.txt")).toBe("hello worker");
    expect((await store.info("bin/big.bin")).size).toBe(8 * 1024 * 1024 + 3);
    await store.close();
  });
});
