/**
 * What compressing one large value costs in memory (SPEC 14): a value streamed through
 * `open(key, "w", { compression })` into the fs driver, then read back through
 * `open(key, "r", { compression })`. Each phase runs in a fresh process and reports its peak RSS
 * (`maxRSS`) above its RSS once the store is warm, and its throughput; node:zlib piped between
 * files alone is the reference. Not a test: it takes a minute or more per GiB. Needs
 * `npm run build`.
 *
 *   node --expose-gc bench/compression-memory.mjs [MiB=1024] [gzip|deflate|deflate-raw]
 *   BENCH_WRITE=1 node --expose-gc bench/compression-memory.mjs   # also bench/compression-memory.md,
 *                                                                 # which `npm run bench` puts in BENCHMARKS.md
 */
import { execFileSync } from "node:child_process";
import { createReadStream, createWriteStream, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { fileURLToPath } from "node:url";
import zlib from "node:zlib";
import { createStore } from "../dist/index.node.js";

const MiB = 1024 * 1024;
const CHUNK = 64 * 1024;
const rss = () => process.memoryUsage.rss();
const peak = () => process.resourceUsage().maxRSS * 1024;

/** 64 KiB chunks, each a quarter random and the rest runs: compressible, not trivially. */
function* chunks(size) {
  const random = new Uint8Array(CHUNK / 4);
  for (let sent = 0, i = 0; sent < size; sent += CHUNK, i++) {
    crypto.getRandomValues(random);
    const chunk = new Uint8Array(Math.min(CHUNK, size - sent)).fill(i & 0xff);
    chunk.set(random.subarray(0, Math.min(random.length, chunk.length)));
    yield chunk;
  }
}

async function child(phase, dir, size, format) {
  const store = createStore(dir, { serialization: "raw" });
  await store.put("warmup", "x", { compression: format });
  await store.get("warmup", { compression: format });
  const zlibOf = { gzip: zlib.createGzip, deflate: zlib.createDeflate, "deflate-raw": zlib.createDeflateRaw };
  const unzlibOf = { gzip: zlib.createGunzip, deflate: zlib.createInflate, "deflate-raw": zlib.createInflateRaw };
  global.gc?.();
  const base = rss();
  const before = peak();
  const started = performance.now();
  let bytes = 0;
  if (phase === "anystore write") {
    const writer = (await store.open("big", "w", { compression: format })).getWriter();
    for (const chunk of chunks(size)) {
      await writer.write(chunk);
      bytes += chunk.byteLength;
    }
    await writer.close();
  } else if (phase === "anystore read") {
    for await (const chunk of await store.open("big", "r", { compression: format })) bytes += chunk.byteLength;
  } else if (phase === "node:zlib write") {
    const source = async function* () {
      for (const chunk of chunks(size)) {
        bytes += chunk.byteLength;
        yield chunk;
      }
    };
    await pipeline(source, zlibOf[format](), createWriteStream(join(dir, "raw.bin")));
  } else {
    const sink = async (source) => {
      for await (const chunk of source) bytes += chunk.byteLength;
    };
    await pipeline(createReadStream(join(dir, "raw.bin")), unzlibOf[format](), sink);
  }
  const seconds = (performance.now() - started) / 1000;
  if (bytes !== size) throw new Error(`${phase}: ${bytes} bytes, expected ${size}`);
  const extra = Math.max(peak(), before) - base;
  process.stdout.write(JSON.stringify({ extraMiB: extra / MiB, mibPerSecond: size / MiB / seconds }));
}

async function main() {
  const [, , mibArg, formatArg] = process.argv;
  const size = Number(mibArg ?? 1024) * MiB;
  const format = formatArg ?? "gzip";
  const dir = mkdtempSync(join(tmpdir(), "anystore-compression-"));
  const rows = [];
  try {
    for (const phase of ["anystore write", "anystore read", "node:zlib write", "node:zlib read"]) {
      const out = execFileSync(
        process.execPath,
        ["--expose-gc", fileURLToPath(import.meta.url), "--child", phase, dir, String(size), format],
        { encoding: "utf8", maxBuffer: MiB },
      );
      const { extraMiB, mibPerSecond } = JSON.parse(out);
      rows.push(`| ${phase} | ${extraMiB.toFixed(1)} MiB | ${mibPerSecond.toFixed(0)} MiB/s |`);
      console.error(rows.at(-1));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const section = [
    "## Compression: one large value through fs",
    "",
    `\`node --expose-gc bench/compression-memory.mjs ${size / MiB} ${format}\` on ${new Date().toISOString().slice(0, 10)}: a`,
    `${size / MiB} MiB value (64 KiB chunks, a quarter random) written through \`open(key, "w", { compression: "${format}" })\``,
    'into the fs driver, then read through `open(key, "r", { compression })`, each phase in a fresh process; extra',
    "RSS is the peak (`maxRSS`) above the RSS once the store was warm; throughput counts the uncompressed bytes. node:zlib",
    "piped between files alone is the reference.",
    "",
    "| phase | extra RSS | throughput |",
    "|---|---:|---:|",
    ...rows,
    "",
  ].join("\n");
  console.log(section);
  if (process.env.BENCH_WRITE) writeFileSync(fileURLToPath(new URL("compression-memory.md", import.meta.url)), section);
}

if (process.argv[2] === "--child") {
  const [, , , phase, dir, size, format] = process.argv;
  await child(phase, dir, Number(size), format);
} else await main();
