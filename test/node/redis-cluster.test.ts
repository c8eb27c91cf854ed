/**
 * The redis driver on a 3-master Redis Cluster that this file starts on free loopback ports
 * (redis-server --cluster-enabled, redis-cli --cluster create) and stops afterwards.
 */
import { Cluster } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { redisDriver } from "../../src/drivers/node/redis/redis.js";
import type { Store, StoreOptions } from "../../src/index.node.js";
import { createStore } from "../../src/index.node.js";
import { collectKeys, contractSuite, readAll, rejectsWith } from "../shared/contract.js";
import type { RedisCluster } from "./redis-server.js";
import { cli, startCluster } from "./redis-server.js";
import { feed, writeElsewhere } from "./watch-feed.js";

let cluster: RedisCluster | undefined;
let counter = 0;
const stores = () => `redis+cluster://${cluster!.ports.map((p) => `127.0.0.1:${p}`).join(",")}`;
const make = (options?: StoreOptions): Store => createStore(`${stores()}/c${++counter}`, options);

beforeAll(async () => {
  cluster = await startCluster();
}, 90_000);

afterAll(async () => {
  await cluster?.stop();
});

contractSuite({ name: "redis cluster (3 masters)", make, reopen: (store) => createStore(store.uri) });

describe("redis driver on a cluster", () => {
  it("spreads keys over every master, and lists, batches and streams across slots", async () => {
    const store = make();
    const keys = Array.from({ length: 300 }, (_, i) => `k${i}`);
    await store.putMany(keys.map((k) => [k, k]));
    const raw = new Cluster(cluster!.ports.map((port) => ({ host: "127.0.0.1", port })));
    try {
      await raw.ping(); // connects and learns the slots
      const counts = await Promise.all(raw.nodes("master").map((node) => node.dbsize()));
      expect(counts.filter((n) => n > 0).length).toBe(3);
      expect(await raw.get(`c${counter}/k7`)).toBe("k7");
    } finally {
      raw.disconnect();
    }
    expect((await collectKeys(store.keys())).length).toBe(300);
    const got = await store.getMany(keys);
    expect(got.size).toBe(300);
    expect(got.get("k42")).toBe("k42");
    await store.put("braced{x}", new Blob(["across {slots}"]));
    expect(new TextDecoder().decode(await readAll(await store.open("braced{x}", "r", { start: 7 })))).toBe("{slots}");
    await store.putMany(
      keys.map((k) => [k, 1]),
      { ttl: 60 },
    );
    await store.deleteMany(keys);
    expect(await collectKeys(store.keys())).toEqual(["braced{x}"]);
    await store.close();
  });

  it("takes an existing Cluster client", async () => {
    const client = new Cluster(cluster!.ports.map((port) => ({ host: "127.0.0.1", port })));
    const store = createStore("redis+cluster://ignored:1/given", { client } as never);
    await store.put("k", "v");
    await store.close();
    expect(await client.get("given/k")).toBe("v");
    client.disconnect();
  });

  it("an unreachable cluster fails with ConnectionError in bounded time", async () => {
    const store = createStore("redis+cluster://127.0.0.1:1,127.0.0.1:2/none", {
      connectTimeout: 300,
      commandTimeout: 500,
    });
    await rejectsWith(store.get("k"), "CONNECTION");
    await store.close();
  });
});

describe.each([
  ["a channel anystore writers publish to", ""],
  ["keyspace notifications of every master", "KEA"],
])("redis watch on a cluster, by %s", (_name, flags) => {
  const setFlags = (value: string) =>
    Promise.all(cluster!.ports.map((port) => cli(port, "config", "set", "notify-keyspace-events", value)));
  beforeAll(() => setFlags(flags));
  afterAll(() => setFlags(""));

  it("sees puts and deletes of another process on every master, under its prefix only", async () => {
    const uri = `${stores()}/w${++counter}`;
    const driver = redisDriver({ uri });
    const watch = await feed(driver, "in/");
    const keys = Array.from({ length: 12 }, (_, i) => `in/k${i}`);
    await writeElsewhere(uri, {}, `putMany:${keys.join(",")}`, "put:out/x=1", "stream:in/s=1", "delete:in/k3");
    await watch.all([...keys.map((key) => `put ${key}`), "put in/s", "delete in/k3"]);
    // One key's events keep the order of its writes.
    expect(watch.lines().indexOf("put in/k3")).toBeLessThan(watch.lines().indexOf("delete in/k3"));
    expect(watch.lines().filter((l) => !l.includes(" in/"))).toEqual([]);
    watch.stop();
    await driver.close();
  });
});
