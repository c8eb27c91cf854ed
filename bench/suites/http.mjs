/**
 * http: anystore's HTTP driver against `serve()` on loopback, vs raw fetch to the same server,
 * and unstorage's http driver against unstorage's own storage server (h3). The servers run in a
 * child process (so the client's RSS is the client's alone): a memory store for small values
 * and listing (100,000 keys seeded there, in both servers), a directory for the 256 MiB value.
 */
import { spawn } from "node:child_process";
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createStorage } from "unstorage";
import unstorageFs from "unstorage/drivers/fs";
import unstorageHttp from "unstorage/drivers/http";
import { createStore, mirror } from "../../dist/index.node.js";
import * as lib from "../lib.mjs";

export const title = "http (HTTP driver and serve() on 127.0.0.1)";
const RAW = "raw fetch";
const UNSTORAGE = "unstorage (http driver, h3 server)";
const dist = fileURLToPath(new URL("../../dist/index.node.js", import.meta.url));

/** The servers' process: anystore over memory and over a directory, unstorage over memory; seeds the listing keys. */
const serverCode = (dir) => `
  const { createServer } = await import("node:http");
  const { createStore, serve } = await import(${JSON.stringify(dist)});
  const { createStorage } = await import("unstorage");
  const { createStorageServer } = await import("unstorage/server");
  const { default: memoryDriver } = await import("unstorage/drivers/memory");
  const lib = await import(${JSON.stringify(fileURLToPath(new URL("../lib.mjs", import.meta.url)))});
  const memory = createStore("memory://");
  const storage = createStorage({ driver: memoryDriver() });
  await lib.seedForListing((entries) => memory.putMany(entries), { batch: 10000 });
  await lib.seedForListing((entries) => Promise.all(entries.map(([k, v]) => storage.setItem(k, v))), { batch: 10000 });
  const mem = await serve(memory);
  const dir = await serve(createStore(${JSON.stringify(dir)}));
  const u = createServer(createStorageServer(storage).handle);
  await new Promise((resolve) => u.listen(0, "127.0.0.1", resolve));
  process.stdout.write(JSON.stringify({ mem: mem.url, dir: dir.url, unstorage: "http://127.0.0.1:" + u.address().port }) + "\\n");
  process.stdin.on("end", () => process.exit(0)).resume();
`;

function startServers(dir) {
  const child = spawn(process.execPath, ["--input-type=module", "-e", serverCode(dir)], {
    stdio: ["pipe", "pipe", "inherit"],
    cwd: process.cwd(),
  });
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
      if (out.includes("\n")) resolve({ child, ...JSON.parse(out) });
    });
    child.once("exit", (code) => reject(new Error(`server exited with ${code}`)));
  });
}

async function ok(response, what) {
  if (!response.ok) throw new Error(`${what} ${response.status}`);
  return response;
}

function rawFetch(base) {
  const put = async (k, v) =>
    void (await (await ok(await fetch(`${base}/${k}`, { method: "PUT", body: v }), "PUT")).arrayBuffer());
  const get = async (k) => (await ok(await fetch(`${base}/${k}`), "GET")).text();
  return {
    put,
    get,
    // no batch call in the protocol: 1,000 requests, 32 in flight
    putMany: (entries) => lib.pool(entries, ([k, v]) => put(k, v)),
    getMany: async (keys) => {
      const values = [];
      await lib.pool(keys, async (k) => values.push(await get(k)));
      return values;
    },
    list: async () =>
      (await (await ok(await fetch(`${base}/${lib.LIST_PREFIX}/`), "list")).text()).split("\n").filter(Boolean).length,
  };
}

export default async function run(report) {
  const dir = await lib.tempDir("http");
  const {
    child,
    mem,
    dir: dirUrl,
    unstorage,
  } = await lib.timed("servers and seeding", () => startServers(join(dir, "served")));
  try {
    const store = createStore(`anystore+${mem}`);
    const storage = createStorage({ driver: unstorageHttp({ base: unstorage }) });
    const impls = {
      anystore: {
        put: (k, v) => store.put(k, v),
        get: (k) => store.get(k),
        putMany: (entries) => store.putMany(entries),
        getMany: (keys) => store.getMany(keys),
        list: () => lib.countKeys(store.keys({ prefix: lib.LIST_PREFIX })),
      },
      [RAW]: rawFetch(mem),
      [UNSTORAGE]: {
        put: (k, v) => storage.setItem(k, v),
        get: (k) => storage.getItem(k),
        putMany: (entries) => storage.setItems(entries.map(([key, value]) => ({ key, value }))),
        getMany: (keys) => storage.getItems(keys),
        list: () => storage.getKeys(lib.LIST_PREFIX),
      },
    };
    const stream = await lib.timed("stream", () => lib.streamRows(bigImpls(dirUrl)));
    const rows = await lib.timed("put/get", () => lib.putGetRows(impls, { ops: 300 }));
    rows.push(...(await lib.timed("batches", () => lib.batchRows(impls, { rounds: 2, batches: 1 }))));
    rows.push(await lib.timed("listing", () => lib.listRow(impls)));
    rows.push(...stream);
    rows.push(await lib.timed("mirror", () => mirrorRow(mem, unstorage)));
    report.table(title, rows, {
      driver: "http",
      notes:
        "The servers run in a child process: anystore's serve() over a memory store (holding the 100,000 listing keys) and over a temp directory (the 256 MiB value), and unstorage's h3 storage server over its memory driver (the same 100,000 keys).",
    });
    await store.close();
  } finally {
    child.stdin.end();
    child.kill();
    await rm(dir, { recursive: true, force: true });
  }
}

/** 256 MiB up and down; the server writes it to its directory. unstorage's driver takes whole values. */
function bigImpls(base) {
  const store = createStore(`anystore+${base}`);
  const storage = createStorage({ driver: unstorageHttp({ base }) });
  return {
    anystore: {
      write: (stream) => store.put("big-a.bin", stream),
      read: () => store.open("big-a.bin"),
      cleanup: () => store.delete("big-a.bin"),
    },
    [RAW]: {
      write: async (stream) =>
        void (await (
          await ok(await fetch(`${base}/big-b.bin`, { method: "PUT", body: stream, duplex: "half" }), "PUT")
        ).arrayBuffer()),
      read: async () => (await ok(await fetch(`${base}/big-b.bin`), "GET")).body,
      cleanup: () => fetch(`${base}/big-b.bin`, { method: "DELETE" }).then((r) => r.arrayBuffer()),
    },
    "unstorage (whole value)": {
      write: async (stream) =>
        storage.setItemRaw("big-c.bin", new Uint8Array(await new Response(stream).arrayBuffer())),
      read: async () => (await storage.getItemRaw("big-c.bin")).byteLength,
      cleanup: () => fetch(`${base}/big-c.bin`, { method: "DELETE" }).then((r) => r.arrayBuffer()),
    },
  };
}

/** A directory of 10,000 files copied to the memory server, each under its own prefix. */
async function mirrorRow(mem, unstorage) {
  const fixture = await lib.mirrorFixture();
  try {
    const source = createStore(fixture.dir);
    const put = rawFetch(`${mem}/m-raw`).put;
    const target = createStorage({ driver: unstorageHttp({ base: `${unstorage}/m-u` }) });
    const from = createStorage({ driver: unstorageFs({ base: fixture.dir }) });
    return await lib.mirrorRow({
      anystore: () => lib.mirrorWithin(mirror, source, createStore(`anystore+${mem}/m-a`), 30),
      [RAW]: async () => {
        await lib.pool(
          fixture.files,
          async (file) => put(file, await readFile(join(fixture.dir, file))),
          lib.MIRROR_IN_FLIGHT,
        );
        return fixture.files.length;
      },
      [UNSTORAGE]: async () => {
        const keys = await from.getKeys();
        await lib.pool(keys, async (key) => target.setItemRaw(key, await from.getItemRaw(key)), lib.MIRROR_IN_FLIGHT);
        return keys.length;
      },
    });
  } finally {
    await fixture.remove();
  }
}
