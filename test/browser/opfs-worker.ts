/// <reference lib="webworker" />
/** A dedicated worker that exercises the OPFS driver (sync access handles) and reports back. */
import { createStore } from "../../src/index.browser.js";

self.onmessage = async (event: MessageEvent<{ dir: string }>) => {
  const steps: Record<string, unknown> = {};
  try {
    steps.syncAccess = "createSyncAccessHandle" in FileSystemFileHandle.prototype;
    const store = createStore(`opfs://${event.data.dir}`);
    const big = new Uint8Array(8 * 1024 * 1024 + 3).map((_, i) => (i * 7) & 255);
    await store.put("bin/big.bin", big);
    const back = (await store.get("bin/big.bin", { serialization: "raw" })) as Uint8Array;
    steps.roundTrip = back.byteLength === big.byteLength && back.every((b, i) => b === big[i]);
    await store.put("doc.json", { from: "worker" });
    steps.json = await store.get("doc.json");
    const writer = (await store.open("stream.txt", "w")).getWriter();
    await writer.write(new TextEncoder().encode("hello "));
    steps.visibleBeforeClose = await store.exists("stream.txt");
    await writer.write(new TextEncoder().encode("worker"));
    await writer.close();
    steps.range = await new Response(await store.open("stream.txt", "r", { start: 6 })).text();
    // A streamed read lends its handle back when the reader pauses: a writer commits meanwhile,
    // and the reader learns the value changed instead of reading a mix.
    await store.put("bin/three.bin", new Uint8Array(3 << 20).fill(3));
    const reader = (await store.open("bin/three.bin")).getReader();
    const first = await reader.read();
    await new Promise((resolve) => setTimeout(resolve, 200));
    await store.put("bin/three.bin", new Uint8Array(10).fill(4));
    const second = await reader.read(); // read ahead before the pause
    const third = await reader.read().then(
      () => "no error",
      (e) => (e as Error).name,
    );
    steps.changedMidRead = [first.value?.byteLength, second.value?.[0], third];
    steps.afterChange = ((await store.get("bin/three.bin", { serialization: "raw" })) as Uint8Array).byteLength;
    const aborted = (await store.open("stream.txt", "w")).getWriter();
    await aborted.write(new TextEncoder().encode("partial"));
    await aborted.abort("stop");
    steps.afterAbort = await store.get("stream.txt");
    steps.conflict = await store.put("bin/big.bin/x", 1).then(
      () => "none",
      (e) => e.code,
    );
    const keys: string[] = [];
    for await (const key of store.keys()) keys.push(key);
    steps.keys = keys.sort();
    steps.checksum = await store.checksum("stream.txt");
    await store.close();
    self.postMessage({ ok: true, steps });
  } catch (error) {
    self.postMessage({ ok: false, steps, error: String((error as Error)?.stack ?? error) });
  }
};
