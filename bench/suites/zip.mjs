/**
 * zip: anystore's zip driver vs fflate used directly. For small values the baseline is what one
 * does with fflate alone (unzipSync the file, change it, zipSync and write it back; unzipSync with
 * a filter to read one entry); for a big value it is fflate's streaming Zip/ZipDeflate into a file
 * and Unzip/UnzipInflate out of it, which is as lean as streaming through fflate gets.
 */
import { createReadStream } from "node:fs";
import { mkdir, open, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { strToU8, Unzip, UnzipInflate, unzipSync, Zip, ZipDeflate, zipSync } from "fflate";
import { createStore } from "../../dist/index.node.js";
import { bestOf, drain, MiB, sourceStream, value1k, withPeakRss } from "../lib.mjs";

export const title = "zip (archive on local disk)";
const DIR = join(process.cwd(), "bench/.data", `zip-${process.pid}`);
const BIG = 256 * MiB;
const ENTRIES = 1000;

/** fflate alone: the whole archive in memory for every change. */
function naive(path) {
  const load = async () => unzipSync(new Uint8Array(await readFile(path).catch(() => zipSync({}))));
  return {
    put: async (k, v) => {
      const files = await load();
      files[k] = strToU8(v);
      await writeFile(path, zipSync(files, { level: 6 }));
    },
    get: async (k) => {
      const files = unzipSync(new Uint8Array(await readFile(path)), { filter: (f) => f.name === k });
      return new TextDecoder().decode(files[k]);
    },
  };
}

export default async function run(report) {
  await rm(DIR, { recursive: true, force: true });
  await mkdir(DIR, { recursive: true });
  try {
    const store = createStore(join(DIR, "anystore.zip"));
    const fflate = naive(join(DIR, "fflate.zip"));
    const impls = { anystore: { put: (k, v) => store.put(k, v), get: (k) => store.get(k) }, "fflate (whole archive)": fflate };
    // Both archives start with the same 1,000 entries of 1 KiB.
    await store.putMany(Array.from({ length: ENTRIES }, (_, i) => [`k/${i}`, value1k(i)]));
    await writeFile(join(DIR, "fflate.zip"), zipSync(Object.fromEntries(Array.from({ length: ENTRIES }, (_, i) => [`k/${i}`, strToU8(value1k(i))]))));
    const rows = [];
    let fresh = 0; // appends need keys never used before, across runs and implementations
    for (const [workload, op, key, ops] of [
      [`get 1 KiB from ${ENTRIES.toLocaleString("en-US")} entries`, "get", (i) => `k/${(i * 7) % ENTRIES}`, [2000, 100]],
      [`put 1 KiB as a new key (append) to ${ENTRIES.toLocaleString("en-US")}+ entries`, "put", () => `new/${fresh++}`, [300, 20]],
      [`overwrite 1 KiB (rewrite) in ${ENTRIES.toLocaleString("en-US")}+ entries`, "put", (i) => `k/${i % ENTRIES}`, [40, 20]],
    ]) {
      const results = {};
      for (const [index, [name, impl]] of Object.entries(impls).entries()) {
        const n = ops[index];
        results[name] = await bestOf(2, (i) => impl[op](key(i), value1k(i)), { ops: n, warmup: Math.min(10, n) });
      }
      rows.push({ workload, unit: "ops/s", results });
    }
    rows.push(...(await bigValue(store)));
    report.table(title, rows);
    await store.close();
  } finally {
    await rm(DIR, { recursive: true, force: true });
  }
}

/** 256 MiB (compressible) streamed into an entry and back out, with the peak extra RSS. */
async function bigValue(store) {
  const ours = await withPeakRss(async () => {
    await store.put("big.bin", sourceStream(BIG));
    const got = await drain(await store.open("big.bin"));
    if (got !== BIG) throw new Error(`read back ${got} bytes`);
  });
  const raw = await withPeakRss(async () => {
    const path = join(DIR, "fflate-big.zip");
    await fflateWrite(path, sourceStream(BIG));
    const got = await fflateRead(path);
    if (got !== BIG) throw new Error(`fflate read back ${got} bytes`);
  });
  const rate = (r) => (2 * BIG) / 1e6 / r.seconds;
  const name = "fflate streaming (Zip/Unzip)";
  return [
    { workload: "256 MiB streamed into an entry and out", unit: "MB/s", results: { anystore: rate(ours), [name]: rate(raw) } },
    { workload: "256 MiB streamed: peak extra RSS", unit: "MiB", results: { anystore: ours.extraRssMiB, [name]: raw.extraRssMiB } },
  ];
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
