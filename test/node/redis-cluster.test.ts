/**
 * The redis driver on a 3-master Redis Cluster that this file starts on free loopback ports
 * (redis-server --cluster-enabled, redis-cli --cluster create) and stops afterwards.
 */
import { Cluster } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Store, StoreOptions } from "../../src/index.node.js";
import { createStore } from "../../src/index.node.js";
import { collectKeys, contractSuite, readAll, rejectsWith } from "../shared/contract.js";
import type { RedisCluster } from "./redis-server.js";
import { startCluster } from "./redis-server.js";

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
