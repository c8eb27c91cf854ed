/** OPFS in a dedicated worker: 64 MiB written and read through anystore and through a raw sync access handle. */
import { createStore } from "../../dist/index.browser.js";

const SIZE = 64 * 2 ** 20;
const CHUNK = 2 ** 20;
const MB = 1e6;

async function timed(fn) {
  const started = performance.now();
  await fn();
  return SIZE / MB / ((performance.now() - started) / 1000);
}

/** One 64 MiB pass each way through a raw sync access handle: the ceiling. */
async function rawPass(file, data) {
  const write = await timed(async () => {
    const handle = await file.createSyncAccessHandle();
    handle.truncate(0);
    handle.write(data, { at: 0 });
    handle.flush();
    handle.close();
  });
  const read = await timed(async () => {
    const handle = await file.createSyncAccessHandle();
    const out = new Uint8Array(handle.getSize());
    handle.read(out, { at: 0 });
    handle.close();
    if (out.byteLength !== SIZE) throw new Error("raw read: wrong size");
  });
  const streamRead = await timed(async () => {
    const handle = await file.createSyncAccessHandle();
    const chunk = new Uint8Array(CHUNK);
    for (let at = 0; at < SIZE; at += CHUNK) handle.read(chunk, { at });
    handle.close();
  });
  return { write, read, streamRead };
}

/** The same through anystore: put/get of the whole value, and streamed in 1 MiB chunks. */
async function anystorePass(store, data) {
  const write = await timed(() => store.put("big.bin", data));
  const read = await timed(async () => {
    const back = await store.get("big.bin", { serialization: "raw" });
    if (back.byteLength !== SIZE) throw new Error("anystore read: wrong size");
  });
  const streamWrite = await timed(async () => {
    const writer = (await store.open("stream.bin", "w")).getWriter();
    const chunk = new Uint8Array(CHUNK).fill(3);
    for (let at = 0; at < SIZE; at += CHUNK) await writer.write(chunk);
    await writer.close();
  });
  const streamRead = await timed(async () => {
    let n = 0;
    for await (const part of await store.open("stream.bin")) n += part.byteLength;
    if (n !== SIZE) throw new Error("anystore stream read: wrong size");
  });
  return { write, read, streamWrite, streamRead };
}

const best = (into, figures) => {
  for (const [k, v] of Object.entries(figures)) into[k] = Math.max(into[k] ?? 0, v);
};

self.onmessage = async () => {
  try {
    const root = await navigator.storage.getDirectory();
    const dir = await root.getDirectoryHandle("bench-raw", { create: true });
    const file = await dir.getFileHandle("raw.bin", { create: true });
    const store = createStore("opfs://bench-worker");
    const data = new Uint8Array(SIZE).fill(7);
    const raw = {};
    const ours = {};
    // Rounds alternate raw and anystore, so a noisy stretch of a shared machine hits both.
    for (let round = 0; round < 3; round++) {
      best(raw, await rawPass(file, data));
      best(ours, await anystorePass(store, data));
    }
    await store.close();
    self.postMessage({ raw, anystore: ours });
  } catch (error) {
    self.postMessage({ error: String(error?.stack ?? error) });
  }
};
