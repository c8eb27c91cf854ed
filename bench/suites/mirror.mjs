/**
 * mirror: copy 10,000 small keys (1 KiB) between backends with 16 copies in flight.
 * anystore's `mirror` (list, skip-check, stream each value) against a hand-written raw loop
 * and unstorage (getKeys, getItemRaw, setItemRaw) doing the same copy with the same concurrency.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import Redis from "ioredis";
import { createStorage } from "unstorage";
import unstorageFs from "unstorage/drivers/fs";
import unstorageRedis from "unstorage/drivers/redis";
import { createStore, mirror } from "../../dist/index.node.js";
import { value1k } from "../lib.mjs";

export const title = "mirror: 10,000 keys of 1 KiB, 16 in flight (fs on local disk, Redis 127.0.0.1 db 12)";
const N = 10_000;
const CONCURRENCY = 16;
const DB = 12;
const RUN = `bench-mirror-${process.pid}-${Date.now().toString(36)}`;
const keyOf = (i) => `d${i % 100}/k${i}.txt`;

async function pool(items, fn) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

/** Keys per second of one timed copy. */
async function rate(copy) {
  const started = performance.now();
  const copied = await copy();
  if (copied !== N) throw new Error(`copied ${copied} keys, expected ${N}`);
  return N / ((performance.now() - started) / 1000);
}

/** Files under a directory, relative, as the raw baseline lists them. */
async function walk(dir) {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(dir.length + 1));
}

async function rawFsToFs(src, dst) {
  const files = await walk(src);
  await pool(files, async (file) => {
    const target = join(dst, file);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, await readFile(join(src, file)));
  });
  return files.length;
}

async function rawFsToRedis(src, redis, prefix) {
  const files = await walk(src);
  await pool(files, async (file) => redis.set(`${prefix}/${file}`, await readFile(join(src, file))));
  return files.length;
}

async function unstorageCopy(from, to) {
  const keys = await from.getKeys();
  await pool(keys, async (key) => to.setItemRaw(key, await from.getItemRaw(key)));
  return keys.length;
}

async function anystoreMirror(source, target) {
  const result = await mirror(source, target, { concurrency: CONCURRENCY });
  if (result.failed > 0) throw result.errors[0].error;
  return result.mirrored;
}

async function cleanupRedis(redis) {
  for (const pattern of [`${RUN}*`, `.anystore/t/{${RUN}*`, `.anystore/w/*{${RUN}*`]) {
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 1000);
      cursor = next;
      if (keys.length > 0) await redis.unlink(keys);
    } while (cursor !== "0");
  }
}

export default async function run(report) {
  const root = await mkdtemp(join(tmpdir(), "anystore-bench-mirror-"));
  const src = join(root, "src");
  const redis = new Redis({ db: DB });
  let redisStorage;
  try {
    for (let i = 0; i < N; i += 500) {
      await Promise.all(
        Array.from({ length: 500 }, async (_, j) => {
          const file = join(src, keyOf(i + j));
          await mkdir(dirname(file), { recursive: true });
          await writeFile(file, value1k(i + j));
        }),
      );
    }
    const source = createStore(src);
    const fsStorage = createStorage({ driver: unstorageFs({ base: src }) });

    const fsToFs = {
      anystore: await rate(() => anystoreMirror(source, createStore(join(root, "a")))),
      "raw node:fs": await rate(() => rawFsToFs(src, join(root, "raw"))),
      unstorage: await rate(() => unstorageCopy(fsStorage, createStorage({ driver: unstorageFs({ base: join(root, "u") }) }))),
    };

    const target = createStore(`redis://127.0.0.1:6379/${DB}/${RUN}/a`);
    redisStorage = createStorage({ driver: unstorageRedis({ db: DB, base: `${RUN}u` }) });
    const fsToRedis = {
      anystore: await rate(() => anystoreMirror(source, target)),
      "raw ioredis": await rate(() => rawFsToRedis(src, redis, `${RUN}/raw`)),
      unstorage: await rate(() => unstorageCopy(fsStorage, redisStorage)),
    };
    // Mirroring again finds every key present: one existence check per key, no copy.
    const again = { anystore: await rate(async () => (await mirror(source, target, { concurrency: CONCURRENCY })).skipped) };
    await Promise.all([target.close(), source.close()]);

    report.table(title, [
      { workload: "mirror fs -> fs", unit: "keys/s", results: fsToFs },
      { workload: "mirror fs -> redis", unit: "keys/s", results: fsToRedis },
      { workload: "mirror fs -> redis again (all skipped)", unit: "keys/s", results: again },
    ]);
  } finally {
    await redisStorage?.dispose();
    await cleanupRedis(redis).catch(() => {});
    redis.disconnect();
    await rm(root, { recursive: true, force: true });
  }
}
