/**
 * The redis driver on the machine's Redis (127.0.0.1:6379, db 11, a unique prefix per store),
 * plus outages against a redis-server this file starts, stops and restarts itself.
 */
import { rm } from "node:fs/promises";
import type { AddressInfo, Socket } from "node:net";
import { connect, createServer } from "node:net";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { redisDriver } from "../../src/drivers/node/redis/redis.js";
import { createStore } from "../../src/index.node.js";
import { collectKeys, contractSuite, rejectsWith, utf8 } from "../shared/contract.js";
import type { RedisProcess } from "./redis-server.js";
import { cli, freePort, redisProcess, sleep, tempDir } from "./redis-server.js";

const DB = 11;
const RUN = `anystore-test-${process.pid}-${Date.now().toString(36)}`;
const BASE = `redis://127.0.0.1:6379/${DB}`;
let counter = 0;
const freshPrefix = () => `${RUN}/${++counter}`;

const raw = new Redis({ db: DB, lazyConnect: true });

/** Deletes every key of this run, side keys included (SCAN + DEL, never KEYS). */
async function cleanup(): Promise<void> {
  for (const pattern of [`${RUN}/*`, `.anystore/t/{${RUN}/*`, `.anystore/w/*{${RUN}/*`]) {
    let cursor = "0";
    do {
      const [next, keys] = await raw.scan(cursor, "MATCH", pattern, "COUNT", 1000);
      cursor = next;
      if (keys.length > 0) await raw.del(keys);
    } while (cursor !== "0");
  }
}

contractSuite({
  name: "redis (standalone, db and prefix)",
  make: (options) => createStore(`${BASE}/${freshPrefix()}`, options),
  reopen: (store) => createStore(store.uri),
});
contractSuite({
  name: "redis (standalone, with timestamps)",
  make: (options) => createStore(`${BASE}/${freshPrefix()}`, { ...options, timestamps: true } as never),
});

describe("redis driver", () => {
  afterAll(async () => {
    await cleanup();
    raw.disconnect();
  });

  it("uses Python anystore's layout: key k of prefix p is the string p/k, read by redis-cli", async () => {
    const prefix = freshPrefix();
    const store = createStore(`${BASE}/${prefix}`);
    await store.put("docs/a.txt", "hello");
    await store.put("bin", new Uint8Array([0, 1, 2, 255]));
    expect(await cli(6379, "-n", String(DB), "GET", `${prefix}/docs/a.txt`)).toBe("hello");
    expect(await raw.getBuffer(`${prefix}/bin`)).toEqual(Buffer.from([0, 1, 2, 255]));
    await store.close();
  });

  it("reads strings written by a plain SET, and info works on them without timestamps", async () => {
    const prefix = freshPrefix();
    await cli(6379, "-n", String(DB), "SET", `${prefix}/plain.json`, '{"from":"cli"}');
    const store = createStore(`${BASE}/${prefix}`, { timestamps: true } as never);
    expect(await store.get("plain.json")).toEqual({ from: "cli" });
    const info = await store.info("plain.json");
    expect(info).toMatchObject({ size: 14, updatedAt: null, createdAt: null, contentType: "application/json" });
    expect(await collectKeys(store.keys())).toEqual(["plain.json"]);
    // A value replaced behind the store's back: the stale timestamp is not reported.
    await store.put("x", "one");
    await raw.set(`${prefix}/x`, "three");
    expect((await store.info("x")).updatedAt).toBeNull();
    await store.close();
  });

  it("keeps ttl natively on the value and its side key", async () => {
    const prefix = freshPrefix();
    const store = createStore(`${BASE}/${prefix}`, { timestamps: true } as never);
    await store.put("t", "v", { ttl: 100 });
    const pttl = await raw.pttl(`${prefix}/t`);
    expect(pttl).toBeGreaterThan(90_000);
    expect(await raw.pttl(`.anystore/t/{${prefix}/t}`)).toBeGreaterThan(90_000);
    await store.put("t", "forever");
    expect(await raw.pttl(`${prefix}/t`)).toBe(-1);
    await store.close();
  });

  it("removes the temporary key of an aborted streamed write, and sweeps stamps of values deleted by others", async () => {
    const prefix = freshPrefix();
    const store = createStore(`${BASE}/${prefix}`, { timestamps: true } as never);
    const temps = async () => (await raw.scan("0", "MATCH", `.anystore/w/*{${prefix}/*`, "COUNT", 100_000))[1];
    const writer = (await store.open("big", "w")).getWriter();
    await writer.write(new Uint8Array(3 << 20));
    await writer.write(new Uint8Array(2 << 20)); // waits for the first chunk: the temporary key exists now
    expect((await temps()).length).toBe(1);
    await writer.abort(new Error("stop"));
    expect(await temps()).toEqual([]);
    expect(await store.exists("big")).toBe(false);
    await store.putMany(
      [
        ["a", 1],
        ["b", 2],
      ],
      { ttl: 100 },
    );
    expect(await raw.pttl(`.anystore/t/{${prefix}/b}`)).toBeGreaterThan(90_000);
    await store.put("gone", 1);
    await raw.del(`${prefix}/gone`);
    expect(await raw.exists(`.anystore/t/{${prefix}/gone}`)).toBe(1);
    expect(await store.sweep()).toBeGreaterThanOrEqual(1);
    expect(await raw.exists(`.anystore/t/{${prefix}/gone}`)).toBe(0);
    expect(await raw.exists(`.anystore/t/{${prefix}/a}`)).toBe(1);
    await store.close();
  });

  it("a streamed write may reuse its buffer once write resolves, also for whole 1 MiB chunks sent without a copy", async () => {
    const prefix = freshPrefix();
    const store = createStore(`${BASE}/${prefix}`);
    const writer = (await store.open("reused", "w")).getWriter();
    const buffer = new Uint8Array(1 << 20);
    for (const fill of [1, 2, 3]) {
      buffer.fill(fill);
      await writer.write(buffer);
    }
    buffer.fill(9);
    await writer.close();
    const stored = await raw.getBuffer(`${prefix}/reused`);
    expect(stored.byteLength).toBe(3 << 20);
    expect([0, 1, 2].map((i) => [stored[i << 20], stored[(i << 20) + 12345], stored[((i + 1) << 20) - 1]])).toEqual([
      [1, 1, 1],
      [2, 2, 2],
      [3, 3, 3],
    ]);
    await store.close();
  });

  it("never lists side keys, also at the root of a db", async () => {
    const prefix = freshPrefix();
    const store = createStore(`${BASE}/${prefix}`);
    await store.put("k", 1);
    const writer = (await store.open("w", "w")).getWriter();
    await writer.write(utf8("pending"));
    const root = createStore(BASE);
    const keys = await collectKeys(root.keys());
    expect(keys).toContain(`${prefix}/k`);
    expect(keys.filter((k) => k.includes(".anystore"))).toEqual([]);
    await writer.close();
    await Promise.all([store.close(), root.close()]);
  });

  it("escapes glob characters of the prefix in SCAN MATCH", async () => {
    const prefix = freshPrefix();
    const odd = createStore(`${BASE}/${prefix}/we*ird[ab]%3F`);
    const other = createStore(`${BASE}/${prefix}/weXirda_`);
    await odd.put("mine", 1);
    await other.put("theirs", 2);
    expect(await collectKeys(odd.keys())).toEqual(["mine"]);
    await Promise.all([odd.close(), other.close()]);
  });

  it("keys with braces keep their side keys in their hash slot", async () => {
    const prefix = freshPrefix();
    const store = createStore(`${BASE}/${prefix}`, { timestamps: true } as never);
    const keys = ["a{b}c", "x{}y", "open{", "close}", "{tag}/z"];
    await store.putMany(keys.map((k) => [k, k]));
    for (const k of keys) {
      await store.put(k, new Blob([`streamed ${k}`]));
      expect(await store.get(k)).toBe(`streamed ${k}`);
      expect((await store.info(k)).updatedAt).toBeInstanceOf(Date);
    }
    expect(await collectKeys(store.keys())).toEqual([...keys].sort());
    await store.deleteMany(keys);
    expect(await collectKeys(store.keys())).toEqual([]);
    await store.close();
  });

  it("takes an existing ioredis client and leaves it open", async () => {
    const client = new Redis({ db: DB });
    const prefix = freshPrefix();
    const store = createStore(`${BASE}/${prefix}`, { client } as never);
    await store.put("k", "v");
    await store.close();
    expect(await client.get(`${prefix}/k`)).toBe("v");
    client.disconnect();
  });

  it("works without timestamps: plain SETs only", async () => {
    const prefix = freshPrefix();
    const store = createStore({ driver: redisDriver({ uri: BASE, prefix, timestamps: false }) });
    await store.put("k", "v");
    expect(await raw.exists(`.anystore/t/{${prefix}/k}`)).toBe(0);
    expect((await store.info("k")).updatedAt).toBeNull();
    await store.close();
  });

  it("parses uris: db, prefix, credentials, and rejects bad ones", async () => {
    const { parseRedisUri } = await import("../../src/drivers/node/redis/client.js");
    expect(parseRedisUri("redis://u:p%40ss@host:7000/3/a/b")).toMatchObject({
      nodes: [{ host: "host", port: 7000 }],
      db: 3,
      prefix: "a/b",
      username: "u",
      password: "p@ss",
      tls: false,
      cluster: false,
    });
    expect(parseRedisUri("rediss://h")).toMatchObject({ tls: true, db: 0, prefix: "" });
    expect(parseRedisUri("redis+cluster://a:1,b:2/7/p")).toMatchObject({
      nodes: [
        { host: "a", port: 1 },
        { host: "b", port: 2 },
      ],
      db: 0,
      prefix: "7/p",
      cluster: true,
    });
    expect(() => parseRedisUri("redis://h/0/.anystore/x")).toThrow(/prefix/);
    expect(() => parseRedisUri("redis://h/0/x?db=2")).toThrow(/query/);
  });
});

/**
 * A TCP proxy to a local port that moves at most `bytesPerTick` bytes every `tickMs` each way:
 * a slow link on which a large value keeps moving.
 */
async function slowLink(
  port: number,
  bytesPerTick: number,
  tickMs = 10,
): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const pump = (from: Socket, to: Socket) => {
    const queue: Buffer[] = [];
    let timer: ReturnType<typeof setInterval> | undefined;
    const tick = () => {
      for (let budget = bytesPerTick; budget > 0 && queue.length > 0; ) {
        const part = queue[0]!.subarray(0, budget);
        to.write(part);
        budget -= part.length;
        if (part.length === queue[0]!.length) queue.shift();
        else queue[0] = queue[0]!.subarray(part.length);
      }
      if (queue.length > 0) return;
      clearInterval(timer);
      timer = undefined;
      from.resume();
    };
    from.on("data", (chunk: Buffer) => {
      queue.push(chunk);
      from.pause();
      timer ??= setInterval(tick, tickMs);
    });
    from.on("error", () => {});
    from.on("close", () => {
      clearInterval(timer);
      to.destroy();
    });
  };
  const server = createServer((client) => {
    const upstream = connect(port, "127.0.0.1");
    for (const socket of [client, upstream]) sockets.add(socket);
    pump(client, upstream);
    pump(upstream, client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe("redis driver: server outages", () => {
  let server: RedisProcess;
  let dir: string;

  beforeAll(async () => {
    dir = await tempDir();
    server = redisProcess(await freePort(), dir);
    await server.start();
  });

  afterAll(async () => {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("fails with ConnectionError while the server is down, and works again when it returns", async () => {
    const store = createStore(`redis://127.0.0.1:${server.port}/2/outage`, {
      connectTimeout: 1000,
      commandTimeout: 2000,
    });
    await store.put("k", "before");
    await server.stop();
    await rejectsWith(store.get("k"), "CONNECTION");
    await rejectsWith(store.put("k", "during"), "CONNECTION");
    await rejectsWith(collectKeys(store.keys()), "CONNECTION");
    await server.start();
    // The client reconnects on its own; calls made before it has may still fail.
    let exists: boolean | undefined;
    for (let attempt = 0; attempt < 50 && exists === undefined; attempt++) {
      exists = await store.exists("k").catch(() => sleep(200).then(() => undefined));
    }
    // The server started empty (no persistence): the same store answers again.
    expect(exists).toBe(false);
    await store.put("k", "after");
    expect(await store.get("k")).toBe("after");
    await store.close();
  });

  it("a frozen server (SIGSTOP) fails commands after commandTimeout instead of hanging", async () => {
    const store = createStore(`redis://127.0.0.1:${server.port}/2/frozen`, {
      connectTimeout: 1000,
      commandTimeout: 1000,
    });
    await store.put("k", "v");
    server.signal("SIGSTOP");
    try {
      await rejectsWith(store.get("k"), "CONNECTION");
    } finally {
      server.signal("SIGCONT");
    }
    expect(await store.get("k")).toBe("v");
    await store.close();
  });

  it("a frozen server fails calls with ConnectionError within the default timeouts, and serves again once thawed", async () => {
    const store = createStore(`redis://127.0.0.1:${server.port}/2/frozen-default`);
    await store.put("k", "v");
    server.signal("SIGSTOP");
    try {
      let started = Date.now();
      await rejectsWith(store.get("k"), "CONNECTION");
      expect(Date.now() - started).toBeLessThan(12_000); // was 13.7 s; about 5 s now
      // The client reconnects to the frozen server at once: calls made meanwhile fail in time too.
      started = Date.now();
      await rejectsWith(store.put("k", "during"), "CONNECTION");
      expect(Date.now() - started).toBeLessThan(12_000);
    } finally {
      server.signal("SIGCONT");
    }
    let value: unknown;
    for (let attempt = 0; attempt < 50 && value === undefined; attempt++) {
      value = await store.get("k").catch(() => sleep(200).then(() => undefined));
    }
    expect(value).toBe("v");
    await store.close();
  }, 60_000);

  it("a large value on a slow link that keeps moving takes longer than commandTimeout and still succeeds", async () => {
    const link = await slowLink(server.port, 80 * 1024); // about 8 MiB/s each way
    const store = createStore(`redis://127.0.0.1:${link.port}/2/slow-link`, { mode: "raw", commandTimeout: 2000 });
    try {
      const block = Uint8Array.from({ length: 1 << 20 }, (_, i) => (i * 7) & 255);
      const value = new Uint8Array(32 << 20);
      for (let mib = 0; mib < 32; mib++) {
        value.set(block, mib << 20);
        value[mib << 20] = mib; // each MiB told apart
      }
      await store.put("big", value); // one SET: several seconds through the link
      const back = (await store.get("big")) as Uint8Array;
      expect(back.byteLength).toBe(value.byteLength);
      expect(Buffer.compare(back, value)).toBe(0);
      await store.delete("big");
    } finally {
      await store.close();
      await link.close();
    }
  }, 60_000);

  it("a server that never was there fails fast with ConnectionError", async () => {
    const store = createStore(`redis://127.0.0.1:${await freePort()}/0`, { connectTimeout: 500, commandTimeout: 1000 });
    await rejectsWith(store.get("k"), "CONNECTION");
    await store.close();
  });
});
