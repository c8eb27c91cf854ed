/**
 * The redis driver's change feed (SPEC 11) on a redis-server this file starts: first without
 * keyspace notifications (writers publish to a channel), then with them (CONFIG SET, so any writer
 * is seen), and across a restart of the server (resync).
 */
import { rm } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { redisDriver } from "../../src/drivers/node/redis/redis.js";
import { createStore } from "../../src/index.node.js";
import type { RedisProcess } from "./redis-server.js";
import { cli, freePort, redisProcess, sleep, tempDir } from "./redis-server.js";
import { feed, is, startProcess, writeElsewhere } from "./watch-feed.js";

let server: RedisProcess;
let dir: string;
let uri: string;
const pubsubClients = async () => Number((await cli(server.port, "pubsub", "numpat")) || 0) + (await channels());
const channels = async () => {
  const reply = await cli(server.port, "pubsub", "numsub", ".anystore:watch@3");
  return Number(reply.split("\n")[1] ?? 0);
};

beforeAll(async () => {
  dir = await tempDir();
  server = redisProcess(await freePort(), dir);
  await server.start();
  uri = `redis://127.0.0.1:${server.port}/3/app`;
});

afterAll(async () => {
  await server.stop();
  await rm(dir, { recursive: true, force: true });
});

describe.each([
  ["without keyspace notifications (writers publish)", ""],
  ["with keyspace notifications", "KEA"],
])("redis watch %s", (_name, flags) => {
  beforeAll(async () => {
    await cli(server.port, "config", "set", "notify-keyspace-events", flags);
  });
  afterAll(async () => {
    await cli(server.port, "config", "set", "notify-keyspace-events", "");
  });

  it("sees puts and deletes of another process under its prefix only, and frees its connection", async () => {
    const driver = redisDriver({ uri });
    const watch = await feed(driver, "w/");
    await writeElsewhere(uri, {}, "put:w/a=1", "put:x/b=2", "stream:w/s=3", "putMany:w/m1,w/m2", "delete:w/a");
    await watch.next(is("put w/a"));
    await watch.next(is("put w/s"));
    await watch.next(is("put w/m1"));
    await watch.next(is("put w/m2"));
    await watch.next(is("delete w/a"));
    await writeElsewhere(uri, {}, "deleteMany:w/m1,w/m2");
    await watch.next(is("delete w/m2"));
    expect(watch.lines().filter((l) => !l.includes(" w/"))).toEqual([]);
    watch.stop();
    // The subscriber connection goes away: nothing is subscribed on the server any more.
    for (let i = 0; i < 50 && (await pubsubClients()) > 0; i++) await sleep(50);
    expect(await pubsubClients()).toBe(0);
    await driver.close();
  });

  it("store.watch in another process: sees the write, store-relative, then ends and the process exits", async () => {
    const watcher = startProcess([`${uri}/p`, "{}", "watchOnce:in"]);
    await watcher.printed("ready");
    await writeElsewhere(uri, {}, "put:p/out=1", "put:p/in/k=1");
    await watcher.printed("put in/k");
    expect(await watcher.exited()).toBe(0);
  });

  it("sees a write of another client of this process, through the store's prefix", async () => {
    const watcher = createStore(uri);
    const writer = createStore(uri, { ioredis: { connectionName: "writer" } } as never);
    const driver = redisDriver({ uri: `${uri}/sub` });
    const watch = await feed(driver);
    await writer.put("sub/k", "v");
    await writer.put("outside", "v");
    await writer.delete("sub/k");
    await watch.next(is("put k"));
    await watch.next(is("delete k"));
    expect(watch.lines()).toEqual(["put k", "delete k"]);
    watch.stop();
    await Promise.all([watcher.close(), writer.close(), driver.close()]);
  });
});

describe("redis watch with keyspace notifications", () => {
  beforeAll(async () => {
    await cli(server.port, "config", "set", "notify-keyspace-events", "KEA");
  });
  afterAll(async () => {
    await cli(server.port, "config", "set", "notify-keyspace-events", "");
  });

  it("sees writers that are not anystore (redis-cli) and expiries", async () => {
    const driver = redisDriver({ uri });
    const watch = await feed(driver, "raw/");
    await cli(server.port, "-n", "3", "set", "app/raw/x", "1");
    await watch.next(is("put raw/x"));
    await cli(server.port, "-n", "3", "set", "app/raw/t", "1", "px", "50");
    await watch.next(is("put raw/t"));
    await watch.next(is("delete raw/t"), 3000);
    await cli(server.port, "-n", "3", "rename", "app/raw/x", "app/raw/y");
    await watch.next(is("delete raw/x"));
    await watch.next(is("put raw/y"));
    await cli(server.port, "-n", "4", "set", "app/raw/otherdb", "1");
    await cli(server.port, "-n", "3", "set", "app/raw/z", "1");
    await watch.next(is("put raw/z"));
    expect(watch.lines()).not.toContain("put raw/otherdb");
    watch.stop();
    await driver.close();
  });
});

describe("redis watch, more", () => {
  it("with a client handed in: listens on a duplicate, the given client stays usable", async () => {
    const { Redis } = await import("ioredis");
    const client = new Redis({ port: server.port, db: 3 });
    const store = createStore("redis://ignored/app", { client } as never);
    const events = store.watch({ prefix: "given" });
    await events.ready;
    await writeElsewhere(uri, {}, "put:given/k=1");
    expect((await events.next()).value).toEqual({ type: "put", key: "given/k" });
    expect(await client.get("app/given/k")).toBe("1");
    await events.return?.();
    await store.close();
    client.disconnect();
  });

  it("an unreachable server: the watch fails with ConnectionError in bounded time", async () => {
    const store = createStore(`redis://127.0.0.1:${await freePort()}/0/x`, {
      connectTimeout: 300,
      commandTimeout: 500,
    });
    const events = store.watch();
    await expect(events.next()).rejects.toMatchObject({ code: "CONNECTION" });
    await store.close();
  });
});

describe("redis watch across a server restart", () => {
  it.each([
    ["channel", ""],
    ["keyspace", "KEA"],
  ])("says resync once resubscribed, then sees events again (%s)", async (_name, flags) => {
    const extra = flags ? ["--notify-keyspace-events", flags] : [];
    const own = redisProcess(await freePort(), dir, extra);
    await own.start();
    const at = `redis://127.0.0.1:${own.port}/0/r`;
    const driver = redisDriver({ uri: at });
    try {
      const watch = await feed(driver);
      await writeElsewhere(at, {}, "put:a=1");
      await watch.next(is("put a"));
      await own.stop();
      await own.start();
      await watch.next(is("resync"), 5000);
      await writeElsewhere(at, {}, "put:b=1");
      await watch.next(is("put b"));
      watch.stop();
    } finally {
      await driver.close();
      await own.stop();
    }
  });
});
