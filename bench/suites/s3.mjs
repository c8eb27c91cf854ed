/**
 * s3: anystore vs raw aws4fetch calls and unstorage's s3 driver (also aws4fetch), against s3rver
 * on loopback in its own process (so its CPU and memory stay out of the figures; see
 * test/node/s3rver-server.mjs), started and stopped here. s3rver itself (three files and an MD5
 * per object) bounds the absolute numbers; the ratios show the clients' overhead. keyv has no
 * S3 backend.
 */
import { spawn } from "node:child_process";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { AwsClient } from "aws4fetch";
import { createStorage } from "unstorage";
import unstorageFs from "unstorage/drivers/fs";
import unstorageS3 from "unstorage/drivers/s3";
import { createStore, mirror } from "../../dist/index.node.js";
import * as lib from "../lib.mjs";

export const title = "s3 (s3rver on 127.0.0.1)";
const BUCKET = "bench";
const RAW = "raw aws4fetch";
const credentials = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };

async function startS3rver(dir) {
  const child = spawn(
    process.execPath,
    ["--openssl-legacy-provider", join(process.cwd(), "test/node/s3rver-server.mjs"), dir],
    {
      stdio: ["pipe", "pipe", "inherit"],
    },
  );
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("s3rver did not start within 20 s")), 20_000);
    child.once("exit", (code) => reject(new Error(`s3rver exited with ${code}`)));
    child.stdout.once("data", (data) => {
      clearTimeout(timer);
      resolve(JSON.parse(String(data)).port);
    });
  });
  return { child, endpoint: `http://127.0.0.1:${port}` };
}

function rawClient(aws, endpoint, base) {
  const url = (k) => `${endpoint}/${BUCKET}/${base}/${k}`;
  const put = async (k, v) => {
    const response = await aws.fetch(url(k), { method: "PUT", body: v, headers: { "Content-Type": "text/plain" } });
    if (!response.ok) throw new Error(`PUT ${response.status}`);
    await response.arrayBuffer();
  };
  const get = async (k) => {
    const response = await aws.fetch(url(k));
    if (!response.ok) throw new Error(`GET ${response.status}`);
    return response.text();
  };
  return {
    url,
    put,
    get,
    // S3 has no batch put or get: 1,000 requests, 32 in flight
    putMany: (entries) => lib.pool(entries, ([k, v]) => put(k, v)),
    getMany: async (keys) => {
      const values = [];
      await lib.pool(keys, async (k) => values.push(await get(k)));
      return values;
    },
  };
}

/** ListObjectsV2 pages under a prefix, counting keys. */
async function listCount(aws, endpoint, prefix) {
  let n = 0;
  let token;
  do {
    const query = new URLSearchParams({ "list-type": "2", prefix, ...(token && { "continuation-token": token }) });
    const response = await aws.fetch(`${endpoint}/${BUCKET}?${query}`);
    const xml = await response.text();
    if (!response.ok) throw new Error(`LIST ${response.status}`);
    n += xml.match(/<Key>/g)?.length ?? 0;
    token = /<IsTruncated>true</.test(xml) ? xml.match(/<NextContinuationToken>([^<]*)</)?.[1] : undefined;
  } while (token);
  return n;
}

/**
 * The 100,000 listing keys under `seed/`, written as s3rver's own files (an object is its
 * `KEY._S3rver_object` file; s3rver makes the rest on first read): 100,000 PUTs would take minutes.
 */
async function seedFiles(dir) {
  const root = join(dir, BUCKET, "seed");
  for (let p = 0; p < lib.LIST_PREFIXES; p++) await mkdir(join(root, `p${p}`), { recursive: true });
  const indexes = Array.from({ length: lib.LIST_TOTAL }, (_, i) => i);
  await lib.pool(indexes, (i) => writeFile(join(root, `${lib.listKey(i)}._S3rver_object`), "v"), 64);
}

export default async function run(report) {
  const dir = await lib.tempDir("s3rver");
  const { child, endpoint } = await startS3rver(dir);
  try {
    const aws = new AwsClient({ ...credentials, service: "s3", region: "us-east-1", retries: 0 });
    await (await aws.fetch(`${endpoint}/${BUCKET}`, { method: "PUT" })).arrayBuffer();
    const options = { endpoint, ...credentials };
    const store = createStore(`s3://${BUCKET}/anystore`, options);
    const unstorage = () =>
      createStorage({ driver: unstorageS3({ ...credentials, endpoint, region: "us-east-1", bucket: BUCKET }) });
    const storage = unstorage();
    const impls = {
      anystore: {
        put: (k, v) => store.put(k, v),
        get: (k) => store.get(k),
        putMany: (e) => store.putMany(e),
        getMany: (k) => store.getMany(k),
      },
      [RAW]: rawClient(aws, endpoint, "raw"),
      unstorage: {
        put: (k, v) => storage.setItem(`u/${k}`, v),
        get: (k) => storage.getItem(`u/${k}`),
        putMany: (entries) => storage.setItems(entries.map(([key, value]) => ({ key: `u/${key}`, value }))),
        getMany: (keys) => storage.getItems(keys.map((k) => `u/${k}`)),
      },
    };
    const stream = await lib.timed("stream", () => lib.streamRows(bigImpls(store, aws, endpoint, storage)));
    const rows = await lib.timed("put/get", () => lib.putGetRows(impls, { ops: 150 }));
    rows.push(...(await lib.timed("batches", () => lib.batchRows(impls, { rounds: 1, batches: 1 }))));
    await lib.timed("seeding 100,000 keys", () => seedFiles(dir));
    const seeded = createStore(`s3://${BUCKET}/seed`, options);
    const list = await lib.timed("listing", () =>
      lib.listRow(
        {
          anystore: { list: () => lib.countKeys(seeded.keys({ prefix: lib.LIST_PREFIX })) },
          [RAW]: { list: () => listCount(aws, endpoint, `seed/${lib.LIST_PREFIX}/`) },
          unstorage: { list: () => storage.getKeys(`seed/${lib.LIST_PREFIX}`) },
        },
        { rounds: 2 },
      ),
    );
    rows.push(list, ...stream);
    rows.push(await lib.timed("mirror", () => mirrorRow(aws, endpoint, options, unstorage)));
    report.table(title, rows, {
      driver: "s3",
      notes:
        "unstorage's s3 driver lists without the prefix (one GET of the bucket: its first 1,000 keys) and filters on the client, so it finds none of the keys under seed/p42/ here; it has no listing figure.",
    });
    await Promise.all([store.close(), seeded.close()]);
  } finally {
    child.stdin.end();
    child.kill("SIGTERM");
    await new Promise((resolve) => (child.exitCode !== null ? resolve() : child.once("exit", resolve)));
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * 256 MiB streamed in (anystore: multipart, 8 MiB parts) and back out. The raw baseline is one
 * streamed PUT (aws4fetch signs it UNSIGNED-PAYLOAD) and a streamed GET: nothing to buffer, but
 * no resumable or > 5 GiB uploads. unstorage's driver takes and returns whole values.
 */
function bigImpls(store, aws, endpoint, storage) {
  const url = `${endpoint}/${BUCKET}/raw/big.bin`;
  return {
    anystore: {
      write: (stream) => store.put("big.bin", stream),
      read: () => store.open("big.bin"),
      cleanup: () => store.delete("big.bin"),
    },
    [`${RAW} (one streamed PUT)`]: {
      write: async (stream) => {
        const put = await aws.fetch(url, {
          method: "PUT",
          body: stream,
          duplex: "half",
          headers: { "Content-Length": String(lib.BIG) },
        });
        if (!put.ok) throw new Error(`PUT ${put.status}: ${await put.text()}`);
        await put.arrayBuffer();
      },
      read: async () => (await aws.fetch(url)).body,
      cleanup: () => aws.fetch(url, { method: "DELETE" }).then((r) => r.arrayBuffer()),
    },
    "unstorage (whole value)": {
      write: async (stream) =>
        storage.setItemRaw("u/big.bin", new Uint8Array(await new Response(stream).arrayBuffer())),
      read: async () => (await storage.getItemRaw("u/big.bin")).byteLength,
      cleanup: () => storage.removeItem("u/big.bin"),
    },
  };
}

/** A directory of 10,000 files copied into the bucket, each implementation under its own prefix. */
async function mirrorRow(aws, endpoint, options, unstorage) {
  const fixture = await lib.mirrorFixture();
  try {
    const raw = rawClient(aws, endpoint, "m-raw");
    const from = createStorage({ driver: unstorageFs({ base: fixture.dir }) });
    const to = unstorage();
    return await lib.mirrorRow({
      anystore: () =>
        lib.mirrorWithin(mirror, createStore(fixture.dir), createStore(`s3://${BUCKET}/m-a`, options), 30),
      [RAW]: async () => {
        await lib.pool(
          fixture.files,
          async (file) => raw.put(file, await readFile(join(fixture.dir, file))),
          lib.MIRROR_IN_FLIGHT,
        );
        return fixture.files.length;
      },
      unstorage: async () => {
        const keys = await from.getKeys();
        await lib.pool(
          keys,
          async (key) => to.setItemRaw(`m-u/${key}`, await from.getItemRaw(key)),
          lib.MIRROR_IN_FLIGHT,
        );
        return keys.length;
      },
    });
  } finally {
    await fixture.remove();
  }
}
