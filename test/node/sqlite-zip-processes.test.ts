/**
 * Several processes writing one SQLite file or one zip archive at once: no errors, every value
 * present, and `ifNotExists` has exactly one winner across processes.
 */
import { execFileSync } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createStore } from "../../src/index.node.js";
import { collectKeys } from "../shared/contract.js";
import { roundOf } from "./process-worker.js";
import { raceWorker } from "./processes.js";
import { TMP } from "./tmp.js";

const PROCESSES = 6;
const KEYS = 24;
let counter = 0;
const folder = async () => {
  const dir = join(TMP, `processes-${process.pid}-${++counter}`);
  await mkdir(dir, { recursive: true });
  return dir;
};

const backends = [
  { name: "sqlite", uri: async () => `sqlite:///${join(await folder(), "shared.db")}` },
  { name: "zip", uri: async () => join(await folder(), "shared.zip") },
];

describe.each(backends)("$name: several processes writing one store", ({ name, uri: makeUri }) => {
  it("every write succeeds and every value is there; one process wins each ifNotExists", async () => {
    const uri = await makeUri();
    // Every worker starts writing at the same moment, once all have had time to load.
    const startAt = Date.now() + 3000;
    const results = await Promise.all(Array.from({ length: PROCESSES }, (_, id) => raceWorker(uri, id, KEYS, startAt)));
    expect(results.flatMap((r) => r.errors)).toEqual([]);
    expect(results.reduce((sum, r) => sum + r.won, 0)).toBe(2); // shared/once and shared/once-stream
    const store = createStore(uri, { serialization: "raw" } as never);
    const keys = await collectKeys(store.keys());
    expect(keys.filter((k) => k.startsWith("w")).length).toBe(PROCESSES * KEYS);
    for (const key of keys) expect(roundOf(key, (await store.get(key)) as Uint8Array)).toBeTypeOf("number");
    await store.close();
    if (name === "zip") execFileSync("unzip", ["-tq", uri]);
  }, 120_000);
});
