/**
 * What one large value costs in memory, per backend: each phase runs in a fresh process, which
 * reports its peak RSS (`maxRSS`) above its RSS once the store is connected. Not a test: it
 * takes seconds to minutes and needs gigabytes.
 *
 *   npx tsx scripts/large-value-memory.ts [MiB=256] [sqlite postgresql mariadb zip]
 *
 * PostgreSQL is the local server (PG_URL); MariaDB is a throwaway server started here with a
 * max_allowed_packet big enough for the value (the local one refuses values over 16 MiB).
 * Phases: `put stream` (64 KiB chunks, as `anystore serve` receives a body), `put bytes` (the
 * value is already in memory; its own size is not counted), `get` (whole value), `read` (stream).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createStore } from "../src/index.node.js";

const MiB = 1024 * 1024;
const CHUNK = 64 * 1024;
const PHASES = ["put stream", "put bytes", "get", "read"] as const;
type Phase = (typeof PHASES)[number];

const rss = () => process.memoryUsage.rss();
const peak = () => process.resourceUsage().maxRSS * 1024;

/** A value of `size` bytes made from a 1 MiB random block, in fresh 64 KiB chunks like a socket gives. */
function valueStream(size: number, block: Uint8Array): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent >= size) return controller.close();
      const n = Math.min(CHUNK, size - sent);
      const at = sent % block.length;
      controller.enqueue(Buffer.from(block.subarray(at, at + n)));
      sent += n;
    },
  });
}

async function child(uri: string, phase: Phase, size: number): Promise<void> {
  const store = createStore(uri, { serialization: "raw", table: "anystore_memory_probe" } as never);
  await store.put("warmup", new Uint8Array(16));
  await store.get("warmup");
  const block = new Uint8Array(MiB).map(() => (Math.random() * 256) | 0);
  const bytes = phase === "put bytes" ? new Uint8Array(size).map((_, i) => block[i % MiB]!) : undefined;
  global.gc?.();
  const base = rss();
  const before = peak();
  if (phase === "put stream") await store.put("big", valueStream(size, block));
  else if (phase === "put bytes") await store.put("big", bytes!);
  else if (phase === "get") {
    const value = (await store.get("big")) as Uint8Array;
    if (value.byteLength !== size) throw new Error(`got ${value.byteLength} bytes`);
  } else {
    let n = 0;
    for await (const chunk of await store.open("big")) n += chunk.byteLength;
    if (n !== size) throw new Error(`read ${n} bytes`);
  }
  const extra = Math.max(peak(), before) - base;
  process.stdout.write(`${JSON.stringify({ extra, before: before - base })}\n`);
  await store.close();
}

function measure(uri: string, phase: Phase, size: number): string {
  const run = spawnSync(
    process.execPath,
    ["--import", "tsx", "--expose-gc", import.meta.filename, "--child", uri, phase, String(size)],
    {
      encoding: "utf8",
      maxBuffer: 1 << 20,
    },
  );
  const line = run.stdout.trim().split("\n").pop() ?? "";
  if (run.status !== 0 || !line.startsWith("{"))
    return `failed: ${(run.stderr || run.stdout).trim().split("\n").slice(0, 3).join(" ")}`;
  const { extra } = JSON.parse(line) as { extra: number };
  return `+${Math.round(extra / MiB)} MiB`;
}

async function startMariadb(dir: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const { startMariadb: start } = await import("../test/node/sql-servers.js");
  return start(dir, ["--max-allowed-packet=1G", "--innodb-log-file-size=3G"]);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === "--child") return child(args[1]!, args[2] as Phase, Number(args[3]));
  const size = Number(args.find((a) => /^\d+$/.test(a)) ?? 256) * MiB;
  const wanted = args.filter((a) => !/^\d+$/.test(a));
  const backends = wanted.length ? wanted : ["sqlite", "postgresql", "mariadb", "zip"];
  const scratch = mkdtempSync(join(tmpdir(), "anystore-memory-"));
  const stops: Array<() => Promise<void>> = [];
  try {
    console.log(`| backend | ${PHASES.join(" | ")} |\n|---|${PHASES.map(() => "---:").join("|")}|`);
    for (const backend of backends) {
      let uri: string;
      if (backend === "sqlite") uri = `sqlite:///${join(scratch, "probe.db")}`;
      else if (backend === "zip") uri = join(scratch, "probe.zip");
      else if (backend === "postgresql") uri = process.env.PG_URL ?? "postgresql://postgres@127.0.0.1:5432/test";
      else {
        const server = await startMariadb(join(scratch, "mariadb"));
        stops.push(server.stop);
        uri = server.url;
      }
      const cells = PHASES.map((phase) => measure(uri, phase, size));
      console.log(`| ${backend} | ${cells.join(" | ")} |`);
      if (backend === "postgresql") execFileSync("psql", [uri, "-qc", "DROP TABLE IF EXISTS anystore_memory_probe"]);
    }
  } finally {
    for (const stop of stops) await stop();
    rmSync(scratch, { recursive: true, force: true });
  }
}

await main();
