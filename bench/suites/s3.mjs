/**
 * s3: anystore vs raw aws4fetch calls and unstorage's s3 driver (also aws4fetch), against s3rver
 * on loopback in its own process (so its CPU and memory stay out of the figures; see
 * test/node/s3rver-server.mjs). s3rver itself (three files and an MD5 per object) bounds the
 * absolute numbers; the ratios show the client's overhead.
 */
import { spawn } from "node:child_process";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { AwsClient } from "aws4fetch";
import { createStorage } from "unstorage";
import unstorageS3 from "unstorage/drivers/s3";
import { createStore } from "../../dist/index.node.js";
import { bestOf, drain, MiB, sourceStream, value1k, withPeakRss } from "../lib.mjs";

export const title = "s3 (s3rver on 127.0.0.1)";
const DIR = join(process.cwd(), "bench/.data", `s3rver-${process.pid}`);
const BUCKET = "bench";
const BIG = 256 * MiB;
const credentials = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };

async function startS3rver() {
  await mkdir(DIR, { recursive: true });
  const child = spawn(process.execPath, ["--openssl-legacy-provider", join(process.cwd(), "test/node/s3rver-server.mjs"), DIR], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("s3rver did not start within 20 s")), 20_000);
    child.once("exit", (code) => reject(new Error(`s3rver exited with ${code}`)));
    child.stdout.once("data", (data) => (clearTimeout(timer), resolve(JSON.parse(String(data)).port)));
  });
  return { child, endpoint: `http://127.0.0.1:${port}` };
}

export default async function run(report) {
  const { child, endpoint } = await startS3rver();
  try {
    const aws = new AwsClient({ ...credentials, service: "s3", region: "us-east-1", retries: 0 });
    await (await aws.fetch(`${endpoint}/${BUCKET}`, { method: "PUT" })).arrayBuffer();
    const store = createStore(`s3://${BUCKET}/anystore`, { endpoint, ...credentials });
    const storage = createStorage({ driver: unstorageS3({ ...credentials, endpoint, region: "us-east-1", bucket: BUCKET }) });
    const rawUrl = (k) => `${endpoint}/${BUCKET}/raw/${k}`;
    const impls = {
      anystore: { put: (k, v) => store.put(k, v), get: (k) => store.get(k) },
      "raw aws4fetch": {
        put: async (k, v) => {
          const response = await aws.fetch(rawUrl(k), { method: "PUT", body: v, headers: { "Content-Type": "text/plain" } });
          if (!response.ok) throw new Error(`PUT ${response.status}`);
          await response.arrayBuffer();
        },
        get: async (k) => {
          const response = await aws.fetch(rawUrl(k));
          if (!response.ok) throw new Error(`GET ${response.status}`);
          return response.text();
        },
      },
      unstorage: { put: (k, v) => storage.setItem(`u/${k}`, v), get: (k) => storage.getItem(`u/${k}`) },
    };
    const rows = [];
    for (const [workload, concurrency, op, ops] of [
      ["put 1 KiB, sequential", 1, "put", 100],
      ["get 1 KiB, sequential", 1, "get", 100],
      ["put 1 KiB, 32 in flight", 32, "put", 300],
      ["get 1 KiB, 32 in flight", 32, "get", 300],
    ]) {
      const results = {};
      for (const [name, impl] of Object.entries(impls)) {
        results[name] = await bestOf(2, (i) => impl[op](`k/${i % ops}`, value1k(i)), { ops, concurrency, warmup: 40 });
      }
      rows.push({ workload, unit: "ops/s", results });
    }
    rows.push(...(await bigValue(store, aws, rawUrl)));
    report.table(title, rows);
  } finally {
    child.stdin.end();
    child.kill("SIGTERM");
    await new Promise((resolve) => child.once("exit", resolve));
    await rm(DIR, { recursive: true, force: true });
  }
}

/**
 * 256 MiB streamed in (multipart: 8 MiB parts, 2 in flight) and back out, with the peak extra RSS.
 * The raw baseline is one streamed PUT (aws4fetch signs it UNSIGNED-PAYLOAD) and a streamed GET:
 * no parts, so nothing to buffer, but no resumable or > 5 GiB uploads either.
 */
async function bigValue(store, aws, rawUrl) {
  const ours = await withPeakRss(async () => {
    await store.put("big.bin", sourceStream(BIG));
    const got = await drain(await store.open("big.bin"));
    if (got !== BIG) throw new Error(`read back ${got} bytes`);
  });
  await store.delete("big.bin");
  const raw = await withPeakRss(async () => {
    const put = await aws.fetch(rawUrl("big.bin"), { method: "PUT", body: sourceStream(BIG), duplex: "half", headers: { "Content-Length": String(BIG) } });
    if (!put.ok) throw new Error(`PUT ${put.status}: ${await put.text()}`);
    await put.arrayBuffer();
    const got = await drain((await aws.fetch(rawUrl("big.bin"))).body);
    if (got !== BIG) throw new Error(`read back ${got} bytes`);
  });
  const rate = (r) => (2 * BIG) / 1e6 / r.seconds;
  const name = "raw aws4fetch (one streamed PUT)";
  return [
    { workload: "256 MiB streamed in (multipart) and out", unit: "MB/s", results: { anystore: rate(ours), [name]: rate(raw) } },
    { workload: "256 MiB streamed: peak extra RSS", unit: "MiB", results: { anystore: ours.extraRssMiB, [name]: raw.extraRssMiB } },
  ];
}
