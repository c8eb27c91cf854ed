/**
 * anystore+http: the HTTP driver against `serve()`, vs raw fetch to the same server. The
 * server runs in a child process, so the client's RSS is the client's alone.
 */
import { spawn } from "node:child_process";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createStore } from "../../dist/index.node.js";
import { bestOf, drain, MiB, sourceStream, value1k, withPeakRss } from "../lib.mjs";

export const title = "anystore+http (HTTP driver and serve())";
const ROOT = join(process.cwd(), "bench/.data-http");
const dist = fileURLToPath(new URL("../../dist/index.node.js", import.meta.url));

/** Starts `serve()` of a memory store and of a directory in a child process; resolves to their urls. */
function startServers() {
  const code = `
    const { createStore, serve } = await import(${JSON.stringify(dist)});
    const mem = await serve(createStore("memory://"));
    const dir = await serve(createStore(${JSON.stringify(join(ROOT, "served"))}));
    process.stdout.write(JSON.stringify({ mem: mem.url, dir: dir.url }) + "\\n");
  `;
  const child = spawn(process.execPath, ["--input-type=module", "-e", code], { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
      if (out.includes("\n")) resolve({ child, ...JSON.parse(out) });
    });
    child.once("exit", (code) => reject(new Error(`server exited with ${code}`)));
  });
}

export default async function run(report) {
  await rm(ROOT, { recursive: true, force: true });
  await mkdir(join(ROOT, "served"), { recursive: true });
  const { child, mem, dir } = await startServers();
  try {
    const store = createStore(`anystore+${mem}`);
    const impls = {
      anystore: { put: (k, v) => store.put(k, v), get: (k) => store.get(k) },
      "raw fetch": {
        put: async (k, v) => {
          const res = await fetch(`${mem}/${k}`, { method: "PUT", body: v });
          await res.arrayBuffer();
          if (!res.ok) throw new Error(`PUT ${res.status}`);
        },
        get: async (k) => {
          const res = await fetch(`${mem}/${k}`);
          if (!res.ok) throw new Error(`GET ${res.status}`);
          return res.text();
        },
      },
    };
    const rows = [];
    const ops = 2000;
    for (const [workload, concurrency, op] of [
      ["put 1 KiB, sequential", 1, "put"],
      ["get 1 KiB, sequential", 1, "get"],
      ["put 1 KiB, 32 in flight", 32, "put"],
      ["get 1 KiB, 32 in flight", 32, "get"],
    ]) {
      const results = {};
      for (const [name, impl] of Object.entries(impls)) {
        results[name] = await bestOf(3, (i) => impl[op](`k/${i % ops}`, value1k(i)), { ops, concurrency });
      }
      rows.push({ workload, unit: "ops/s", results });
    }
    rows.push(...(await bigValue(createStore(`anystore+${dir}`), dir)));
    report.table(title, rows);
  } finally {
    child.kill();
    await rm(ROOT, { recursive: true, force: true });
  }
}

/** 256 MiB streamed up and down through the driver vs raw fetch with a streamed body; the server writes it to disk. */
async function bigValue(store, base) {
  const size = 256 * MiB;
  const upOurs = await withPeakRss(() => store.put("big-a.bin", sourceStream(size)));
  const downOurs = await withPeakRss(async () => drain(await store.open("big-a.bin")));
  const upRaw = await withPeakRss(async () => {
    const res = await fetch(`${base}/big-b.bin`, { method: "PUT", body: sourceStream(size), duplex: "half" });
    if (!res.ok) throw new Error(`PUT ${res.status}`);
  });
  const downRaw = await withPeakRss(async () => drain((await fetch(`${base}/big-b.bin`)).body));
  const mbps = (r) => size / 1e6 / r.seconds;
  return [
    { workload: "256 MiB streamed put", unit: "MB/s", results: { anystore: mbps(upOurs), "raw fetch": mbps(upRaw) } },
    { workload: "256 MiB streamed get", unit: "MB/s", results: { anystore: mbps(downOurs), "raw fetch": mbps(downRaw) } },
    { workload: "256 MiB streamed put: peak extra RSS", unit: "MiB", results: { anystore: upOurs.extraRssMiB, "raw fetch": upRaw.extraRssMiB } },
    { workload: "256 MiB streamed get: peak extra RSS", unit: "MiB", results: { anystore: downOurs.extraRssMiB, "raw fetch": downRaw.extraRssMiB } },
  ];
}
