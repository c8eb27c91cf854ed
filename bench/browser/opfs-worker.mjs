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
const best = async (rounds, fn) => {
  let top = 0;
  for (let i = 0; i < rounds; i++) top = Math.max(top, await timed(fn));
  return top;
};

async function rawHandle(root) {
  const data = new Uint8Array(SIZE).fill(7);
  const file = await root.getFileHandle("raw.bin", { create: true });
  const write = await best(3, async () => {
    const handle = await file.createSyncAccessHandle();
    handle.truncate(0);
    handle.write(data, { at: 0 });
    handle.flush();
    handle.close();
  });
  const read = await best(3, async () => {
    const handle = await file.createSyncAccessHandle();
    const out = new Uint8Array(handle.getSize());
    handle.read(out, { at: 0 });
    handle.close();
    if (out.byteLength !== SIZE) throw new Error("raw read: wrong size");
  });
  const streamRead = await best(3, async () => {
    const handle = await file.createSyncAccessHandle();
    const chunk = new Uint8Array(CHUNK);
    for (let at = 0; at < SIZE; at += CHUNK) handle.read(chunk, { at });
    handle.close();
  });
  return { write, read, streamRead };
}

async function anystore() {
  const store = createStore("opfs://bench-worker");
  const data = new Uint8Array(SIZE).fill(7);
  const write = await best(3, () => store.put("big.bin", data));
  const read = await best(3, async () => {
    const back = await store.get("big.bin", { serialization: "raw" });
    if (back.byteLength !== SIZE) throw new Error("anystore read: wrong size");
  });
  const streamWrite = await best(3, async () => {
    const writer = (await store.open("stream.bin", "w")).getWriter();
    const chunk = new Uint8Array(CHUNK).fill(3);
    for (let at = 0; at < SIZE; at += CHUNK) await writer.write(chunk);
    await writer.close();
  });
  const streamRead = await best(3, async () => {
    let n = 0;
    for await (const part of await store.open("stream.bin")) n += part.byteLength;
    if (n !== SIZE) throw new Error("anystore stream read: wrong size");
  });
  await store.close();
  return { write, read, streamWrite, streamRead };
}

self.onmessage = async () => {
  try {
    const root = await navigator.storage.getDirectory();
    const dir = await root.getDirectoryHandle("bench-raw", { create: true });
    const rawFigures = await rawHandle(dir);
    const ours = await anystore();
    self.postMessage({ raw: rawFigures, anystore: ours });
  } catch (error) {
    self.postMessage({ error: String(error?.stack ?? error) });
  }
};
