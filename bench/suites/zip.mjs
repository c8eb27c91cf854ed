/**
 * zip: anystore's zip driver vs fflate used directly (the raw client), in a temp dir. For small
 * values the raw way with fflate alone is to load the archive, change it, zipSync and write it
 * back (unzipSync with a filter to read one entry), one change at a time; for a big value it is
 * fflate's streaming Zip/ZipDeflate into a file and Unzip/UnzipInflate out of it. unstorage and
 * keyv have no zip backend. Puts add new keys (appends); overwriting a key rewrites the archive
 * and has its own row.
 */
import { createReadStream } from "node:fs";
import { open, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { strToU8, Unzip, UnzipInflate, unzipSync, Zip, ZipDeflate, zipSync } from "fflate";
import { createStore, mirror } from "../../dist/index.node.js";
import * as lib from "../lib.mjs";

const { value1k, pool } = lib;
export const title = "zip (archive in a temp dir)";
const RAW = "raw fflate (whole archive)";
const RAW_STREAM = "raw fflate streaming (Zip/Unzip)";
const ENTRIES = 1000;
const decoder = new TextDecoder();

/** fflate alone: the whole archive in memory for every change, one change at a time. */
function naive(path) {
  let queue = Promise.resolve();
  const serial = (fn) => (queue = queue.then(fn, fn));
  const load = async () => unzipSync(new Uint8Array(await readFile(path).catch(() => zipSync({}))));
  const read = async (wanted) => unzipSync(new Uint8Array(await readFile(path)), { filter: (f) => wanted.has(f.name) });
  let fresh = 0;
  return {
    ops: 15, // a whole-archive rewrite per put: 15 puts take as long as thousands of appends
    put: (_k, v) =>
      serial(async () => {
        const files = await load();
        files[`new/${fresh++}`] = strToU8(v);
        await writeFile(path, zipSync(files, { level: 6 }));
      }),
    get: async (k) => decoder.decode((await read(new Set([k])))[k]),
    putMany: (entries) =>
      serial(async () => {
        const files = await load();
        for (const [k, v] of entries) files[k] = strToU8(v);
        await writeFile(path, zipSync(files, { level: 6 }));
      }),
    getMany: async (keys) => Object.values(await read(new Set(keys))).map((v) => decoder.decode(v)),
  };
}

/** anystore with fresh keys for puts (appends), reading the seeded `k/...` keys. */
function appending(store) {
  let fresh = 0;
  return {
    put: (_k, v) => store.put(`new/${fresh++}`, v),
    get: (k) => store.get(k),
    putMany: (entries) => store.putMany(entries),
    getMany: (keys) => store.getMany(keys),
  };
}

export default async function run(report) {
  const dir = await lib.tempDir("zip");
  try {
    const store = createStore(join(dir, "anystore.zip"));
    const seed = Array.from({ length: ENTRIES }, (_, i) => [`k/${i}`, value1k(i)]);
    await store.putMany(seed);
    await writeFile(
      join(dir, "fflate.zip"),
      zipSync(Object.fromEntries(seed.map(([k, v]) => [k, strToU8(v)])), { level: 6 }),
    );
    const impls = { anystore: appending(store), [RAW]: naive(join(dir, "fflate.zip")) };
    // The 256 MiB value first, while the process's RSS is lean (extra RSS is measured above it).
    const stream = await lib.timed("stream", () => lib.streamRows(bigImpls(store, dir)));
    const rows = await lib.timed("put/get", () => lib.putGetRows(impls, { ops: 300, rounds: 2 }));
    rows.push(await lib.timed("overwrite", () => overwriteRow(store, impls[RAW])));
    rows.push(...(await lib.timed("batches", () => lib.batchRows(impls, { rounds: 2, batches: 2 }))));
    rows.push(...(await lib.timed("listing", () => listing(dir))));
    rows.push(...stream);
    rows.push(await lib.timed("mirror", () => mirrorRow(dir)));
    report.table(title, rows, {
      driver: "zip",
      notes:
        "Puts add new keys (appended in place); overwriting a key rewrites the archive (its own row). The raw client, fflate alone, rewrites the whole archive for every change, so it does 15 puts per round.",
    });
    await store.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Overwriting an existing key: the archive is rewritten without the old entry. */
async function overwriteRow(store, raw) {
  const results = await lib.takingTurns(
    {
      anystore: (i) => store.put(`k/${i % ENTRIES}`, value1k(i)),
      [RAW]: (i) => raw.putMany([[`k/${i % ENTRIES}`, value1k(i)]]),
    },
    (fn) => lib.opsPerSec(fn, { ops: 15, warmup: 3 }),
    2,
  );
  return { workload: "overwrite 1 KiB, sequential", unit: "ops/s", results };
}

/** 100,000 entries in one archive; anystore lists a prefix, fflate reads the central directory. */
async function listing(dir) {
  const path = join(dir, "list.zip");
  const store = createStore(path);
  await lib.seedForListing((entries) => store.putMany(entries), { batch: 10_000, concurrency: 1 });
  const rawCount = async (prefix) => {
    let n = 0;
    const count = (f) => {
      if (f.name.startsWith(prefix)) n++;
      return false; // counted, not extracted
    };
    unzipSync(new Uint8Array(await readFile(path)), { filter: count });
    return n;
  };
  const impls = {
    anystore: {
      list: () => lib.countKeys(store.keys({ prefix: lib.LIST_PREFIX })),
      listAll: () => lib.countKeys(store.keys()),
    },
    [RAW]: { list: () => rawCount(`${lib.LIST_PREFIX}/`), listAll: () => rawCount("") },
  };
  const row = [await lib.listRow(impls), await lib.listAllRow(impls)];
  await store.close();
  await rm(path, { force: true });
  return row;
}

function bigImpls(store, dir) {
  const path = join(dir, "fflate-big.zip");
  return {
    anystore: {
      write: (stream) => store.put("big.bin", stream),
      read: () => store.open("big.bin"),
      cleanup: () => store.delete("big.bin"),
    },
    [RAW_STREAM]: {
      write: (stream) => fflateWrite(path, stream),
      read: () => fflateRead(path),
      cleanup: () => rm(path, { force: true }),
    },
  };
}

/** 10,000 files into a new archive: anystore's mirror vs reading them all and one zipSync. */
async function mirrorRow(dir) {
  const fixture = await lib.mirrorFixture();
  try {
    const source = createStore(fixture.dir);
    return await lib.mirrorRow({
      anystore: async () => {
        const target = createStore(join(dir, "mirror.zip"));
        // Each copied key commits the archive (its central directory grows with every key).
        const outcome = await lib.mirrorWithin(mirror, source, target, 20);
        await target.close();
        return outcome;
      },
      [RAW]: async () => {
        const files = {};
        await pool(
          fixture.files,
          async (file) => (files[file] = new Uint8Array(await readFile(join(fixture.dir, file)))),
          lib.MIRROR_IN_FLIGHT,
        );
        await writeFile(join(dir, "mirror-fflate.zip"), zipSync(files, { level: 6 }));
        return Object.keys(files).length;
      },
    });
  } finally {
    await fixture.remove();
  }
}

async function fflateWrite(path, source) {
  const fh = await open(path, "w");
  let pending = [];
  const flush = async () => {
    const chunks = pending;
    pending = [];
    for (const chunk of chunks) await fh.write(chunk);
  };
  const zip = new Zip((error, chunk) => {
    if (error) throw error;
    pending.push(chunk);
  });
  const entry = new ZipDeflate("big.bin", { level: 6 });
  zip.add(entry);
  for await (const chunk of source) {
    entry.push(chunk);
    await flush();
  }
  entry.push(new Uint8Array(0), true);
  zip.end();
  await flush();
  await fh.close();
}

async function fflateRead(path) {
  let bytes = 0;
  const unzip = new Unzip((file) => {
    file.ondata = (error, data) => {
      if (error) throw error;
      bytes += data.length;
    };
    file.start();
  });
  unzip.register(UnzipInflate);
  for await (const chunk of createReadStream(path, { highWaterMark: 64 * 1024 })) unzip.push(chunk);
  unzip.push(new Uint8Array(0), true);
  return bytes;
}
