/**
 * The OPFS rows of the browser bench, in a dedicated worker: anystore's opfs driver vs raw
 * synchronous access handles (the fastest way to OPFS, and only available in workers).
 */
import { createStore } from "../../dist/index.browser.js";
import { batchRate, interleaved, opsRate, value1k } from "./measure.mjs";

const MiB = 2 ** 20;
const BIG = 64 * MiB;
const HUGE = 256 * MiB;
const CHUNK = MiB;
const encoder = new TextEncoder();

/** Raw OPFS through sync access handles: one file per key, like the driver's layout. */
async function rawOpfs(name) {
  const root = await navigator.storage.getDirectory();
  const top = await root.getDirectoryHandle(name, { create: true });
  const dirOf = async (key, create) => {
    const parts = key.split("/");
    let dir = top;
    for (const part of parts.slice(0, -1)) dir = await dir.getDirectoryHandle(part, { create });
    return { dir, file: parts[parts.length - 1] };
  };
  const handle = async (key, create, mode) => {
    const { dir, file } = await dirOf(key, create);
    return (await dir.getFileHandle(file, { create })).createSyncAccessHandle(mode && { mode });
  };
  return {
    async put(key, bytes) {
      const h = await handle(key, true);
      h.truncate(0);
      h.write(bytes, { at: 0 });
      h.flush();
      h.close();
    },
    async get(key) {
      const h = await handle(key, false, "read-only");
      const out = new Uint8Array(h.getSize());
      h.read(out, { at: 0 });
      h.close();
      return out;
    },
    /** Writes `size` bytes in CHUNK writes of `chunk` (what a stream delivers). */
    async putChunks(key, chunk, size) {
      const h = await handle(key, true);
      h.truncate(0);
      for (let at = 0; at < size; at += chunk.byteLength) h.write(chunk, { at });
      h.flush();
      h.close();
    },
    /** Reads the file in CHUNK reads, each into a fresh buffer (what a stream hands out); resolves to the bytes read. */
    async getChunks(key) {
      const h = await handle(key, false, "read-only");
      const size = h.getSize();
      let n = 0;
      for (let at = 0; at < size; at += CHUNK) n += h.read(new Uint8Array(Math.min(CHUNK, size - at)), { at });
      h.close();
      return n;
    },
    /** The names in a folder given by its path from the OPFS root. */
    async list(path) {
      let dir = root;
      for (const part of path.split("/")) dir = await dir.getDirectoryHandle(part);
      const names = [];
      for await (const name of dir.keys()) names.push(name);
      return names;
    },
  };
}

const mbps = (bytes, fn) => async (round) => {
  const started = performance.now();
  await fn(round);
  return bytes / 1e6 / ((performance.now() - started) / 1000);
};

const check = (n, expected) => {
  if (n !== expected) throw new Error(`expected ${expected}, got ${n}`);
};

/** Small values, one file each: put/get 1 KiB sequential and 32 in flight, and a listing. */
async function smallRows(store, raw) {
  const key = (i) => `k/${i % 200}`;
  const bytes = (i) => encoder.encode(JSON.stringify(value1k(i)));
  const rows = [];
  for (const [label, concurrency, ops] of [
    ["sequential", 1, 40],
    ["32 in flight", 32, 128],
  ]) {
    rows.push({
      workload: `put 1 KiB, ${label}`,
      unit: "ops/s",
      results: await interleaved(
        {
          anystore: opsRate((i) => store.put(key(i), value1k(i)), ops, concurrency),
          "raw OPFS sync handle": opsRate((i) => raw.put(key(i), bytes(i)), ops, concurrency),
        },
        5,
      ),
    });
    rows.push({
      workload: `get 1 KiB, ${label}`,
      unit: "ops/s",
      results: await interleaved(
        {
          anystore: opsRate((i) => store.get(key(i)), ops * 2, concurrency),
          "raw OPFS sync handle": opsRate((i) => raw.get(key(i)), ops * 2, concurrency),
        },
        5,
      ),
    });
  }
  // 2,000 files in 4 folders: anystore lists the one folder it is asked for; raw iterates it.
  const seed = Array.from({ length: 2000 }, (_, i) => [`list/p${i % 4}/${String(i).padStart(5, "0")}`, "v"]);
  await store.putMany(seed);
  const lists = 10;
  const measure = (count) =>
    batchRate(async () => {
      for (let i = 0; i < lists; i++) check(await count(), 500);
    }, lists);
  rows.push({
    workload: "list a prefix among 2,000 keys",
    unit: "lists/s",
    results: await interleaved(
      {
        anystore: measure(async () => {
          let n = 0;
          for await (const _ of store.keys({ prefix: "list/p1" })) n++;
          return n;
        }),
        "raw OPFS sync handle": measure(async () => (await raw.list("bench-opfs/list/p1")).length),
      },
      5,
    ),
  });
  return rows;
}

/** 64 MiB whole (put/get) and streamed in 1 MiB chunks. */
async function bigRows(store, raw) {
  const data = new Uint8Array(BIG).fill(7);
  const chunk = new Uint8Array(CHUNK).fill(3);
  const rounds = 6;
  const whole = await interleaved(
    {
      "anystore put": mbps(BIG, () => store.put("big.bin", data)),
      "raw put": mbps(BIG, () => raw.put("raw-big.bin", data)),
      "anystore get": mbps(BIG, async () =>
        check((await store.get("big.bin", { serialization: "raw" })).byteLength, BIG),
      ),
      "raw get": mbps(BIG, async () => check((await raw.get("raw-big.bin")).byteLength, BIG)),
    },
    rounds,
  );
  /** Streams `size` bytes into a key and back out, anystore and raw taking turns. */
  const streamBoth = (size, name, turns) =>
    interleaved(
      {
        "anystore in": mbps(size, async () => {
          const writer = (await store.open(`${name}.bin`, "w")).getWriter();
          for (let at = 0; at < size; at += CHUNK) await writer.write(chunk);
          await writer.close();
        }),
        "raw in": mbps(size, () => raw.putChunks(`raw-${name}.bin`, chunk, size)),
        "anystore out": mbps(size, async () => {
          let n = 0;
          for await (const part of await store.open(`${name}.bin`)) n += part.byteLength;
          check(n, size);
        }),
        "raw out": mbps(size, async () => check(await raw.getChunks(`raw-${name}.bin`), size)),
      },
      turns,
    );
  const streamed = await streamBoth(BIG, "stream", rounds);
  // 256 MiB once each way: the throughput of a file far larger than one chunk (bounded memory is test/browser/opfs.test.ts's job).
  const huge = await streamBoth(HUGE, "huge", 1);
  await store.delete("huge.bin");
  const row = (workload, figures, ours, theirs) => ({
    workload,
    unit: "MB/s",
    results: { anystore: figures[`anystore ${ours}`], "raw OPFS sync handle": figures[`raw ${theirs}`] },
  });
  return [
    row("put 64 MiB (worker)", whole, "put", "put"),
    row("get 64 MiB (worker)", whole, "get", "get"),
    row("stream 64 MiB in (worker)", streamed, "in", "in"),
    row("stream 64 MiB out (worker)", streamed, "out", "out"),
    row("stream 256 MiB in (worker)", huge, "in", "in"),
    row("stream 256 MiB out (worker)", huge, "out", "out"),
  ];
}

self.onmessage = async () => {
  try {
    const root = await navigator.storage.getDirectory();
    for (const name of ["bench-opfs", "bench-opfs-raw"])
      await root.removeEntry(name, { recursive: true }).catch(() => {});
    const store = createStore("opfs://bench-opfs");
    const raw = await rawOpfs("bench-opfs-raw");
    const rows = [...(await smallRows(store, raw)), ...(await bigRows(store, raw))];
    await store.close();
    self.postMessage({ rows });
  } catch (error) {
    self.postMessage({ error: String(error?.stack ?? error) });
  }
};
