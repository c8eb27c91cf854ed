import { describe, expect, inject, it } from "vitest";
import { createStore } from "../../src/index.browser.js";
import { contractSuite, readAll, rejectsWith } from "../shared/contract.js";

const url = inject("anystoreHttpUrl");
const tokenUrl = inject("anystoreHttpTokenUrl");
const run = `b-${Date.now().toString(36)}`;
let counter = 0;

// Each store is a fresh key prefix on one memory store served by the browser project's globalSetup.
contractSuite({
  name: "anystore+http (chromium)",
  make: (options) => createStore(`anystore+${url}/${run}-${++counter}`, options),
  reopen: (store) => createStore(store.uri),
});

describe("anystore+http in Chromium", () => {
  it("sends the bearer token through CORS, and is refused without it", async () => {
    const good = createStore(`anystore+${tokenUrl}/${run}`, { token: "browser-token" });
    await good.put("k", { a: 1 });
    expect(await good.get("k")).toEqual({ a: 1 });
    const bad = createStore(`anystore+${tokenUrl}/${run}`);
    const error = (await rejectsWith(bad.get("k"), "IO")) as { status: number };
    expect(error.status).toBe(401);
  });

  it("watches through CORS with the bearer token (server-sent events read with fetch)", async () => {
    const store = createStore(`anystore+${tokenUrl}/${run}-w`, { token: "browser-token" });
    expect((await store.capabilities()).watch).toBe(true);
    const events = store.watch({ prefix: "live" });
    await events.ready;
    await store.put("live/note", "hi");
    expect((await events.next()).value).toEqual({ type: "put", key: "live/note" });
    await events.return?.();
    await store.close();
  });

  it("uploads a streamed write as a Blob, reporting progress", async () => {
    const progress: Array<{ loaded: number; total?: number }> = [];
    const store = createStore(`anystore+${tokenUrl}/${run}`, {
      token: "browser-token",
      onUploadProgress: (p: { loaded: number; total?: number }) => progress.push(p),
    });
    const size = 24 * 2 ** 20;
    const chunk = new Uint8Array(2 ** 20).map((_, i) => i & 255);
    const writer = (await store.open("big.bin", "w")).getWriter();
    for (let sent = 0; sent < size; sent += chunk.byteLength) await writer.write(chunk);
    await writer.close();
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.at(-1)).toMatchObject({ loaded: size, total: size });
    expect((await store.info("big.bin")).size).toBe(size);
    expect([...(await readAll(await store.open("big.bin", "r", { start: size - 3 })))]).toEqual([253, 254, 255]);
  });

  it("fails over the server's body limit with status 413, keeping the old value", async () => {
    const store = createStore(`anystore+${tokenUrl}/${run}`, { token: "browser-token" });
    await store.put("limited", "old");
    const blob = new Blob([new Uint8Array(65 * 2 ** 20)]);
    const error = (await rejectsWith(store.put("limited", blob), "IO")) as { status: number };
    expect(error.status).toBe(413);
    expect(await store.get("limited")).toBe("old");
  });
});
