/**
 * kill -9: writer processes on one SQLite file or zip archive, killed with SIGKILL at random
 * moments, again and again. After every kill the store opens and every key holds a complete
 * value (none torn), never older than the last write that was acknowledged; the zip archive is
 * restored by the next writer and passes `unzip -t`.
 */
import { execFileSync } from "node:child_process";
import { mkdir, readdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { createStore } from "../../src/index.node.js";
import { collectKeys, sleep } from "../shared/contract.js";
import { roundOf, valueFor } from "./process-worker.js";
import type { Worker } from "./processes.js";
import { startWorker } from "./processes.js";
import { TMP } from "./tmp.js";

const TRIALS = 6;
const KEYS = 4;

let counter = 0;
const folder = async () => {
  const dir = join(TMP, `crash-${process.pid}-${++counter}`);
  await mkdir(dir, { recursive: true });
  return dir;
};

const backends = [
  { name: "sqlite", uri: async () => `sqlite:///${join(await folder(), "crash.db")}` },
  { name: "zip", uri: async () => join(await folder(), "crash.zip") },
];

/** Records what a worker acknowledged: the highest round per key. */
function acknowledged(worker: Worker, into: Map<string, number>): void {
  for (const line of worker.lines) {
    const [word, round, , ...keys] = line.split(" ");
    if (word !== "ack") continue;
    for (const key of keys) into.set(key, Math.max(into.get(key) ?? -1, Number(round)));
  }
}

/** How long the worker's last round of the same kind (of 8) as the one it just began took, in ms. */
function lastRoundMs(lines: string[]): number {
  const acks = lines.filter((line) => line.startsWith("ack ")).map((line) => line.split(" ").map(Number));
  const begun = Number(lines.at(-1)?.split(" ")[1]);
  const same = acks.filter(([, round]) => round! % 8 === begun % 8).at(-1) ?? acks.at(-1);
  return same?.[2] ?? 10;
}

/** Every key holds a complete value of its own, at least as new as acknowledged. Returns how many keys. */
async function check(uri: string, acked: Map<string, number>): Promise<number> {
  const store = createStore(uri, { serialization: "raw" } as never);
  try {
    const keys = await collectKeys(store.keys());
    for (const key of keys) {
      const round = roundOf(key, (await store.get(key)) as Uint8Array);
      expect(round, key).toBeTypeOf("number");
      expect(round as number, key).toBeGreaterThanOrEqual(acked.get(key) ?? -1);
    }
    for (const key of acked.keys()) expect(keys, `acknowledged ${key}`).toContain(key);
    return keys.length;
  } finally {
    await store.close();
  }
}

describe.each(backends)("$name: writers killed with SIGKILL", ({ name, uri: makeUri }) => {
  it("after each kill the store opens and every key is an old or a new complete value, none torn or lost", async () => {
    const uri = await makeUri();
    const acked = new Map<string, number>();
    // Each writer loads while the one before it runs, and starts writing when told.
    const writer = (trial: number) => startWorker(["churn", uri, trial % 2, KEYS, trial * 100_000]);
    let next = writer(0);
    for (let trial = 0; trial < TRIALS; trial++) {
      const worker = next;
      if (trial + 1 < TRIALS) next = writer(trial + 1);
      await worker.linesAtLeast(1); // ready
      worker.child.stdin!.write("go\n");
      // Once it is under way, a kill at a random moment of a round's writes (as long as a round
      // took a while ago): mid-statement, mid-append, mid-rewrite, holding the lock.
      const rounds = 2 + Math.floor(Math.random() * 8);
      await worker.linesAtLeast(1 + 2 * rounds + 1); // ready, then begin/ack for each round, then the next begin
      await sleep(Math.random() * lastRoundMs(worker.lines));
      worker.child.kill("SIGKILL");
      const { signal, stderr } = await worker.exited;
      expect(signal, `the writer failed by itself: ${stderr}`).toBe("SIGKILL");
      acknowledged(worker, acked);
      expect(await check(uri, acked)).toBeGreaterThan(0);
    }
    if (name === "zip") {
      // A write takes the dead writers' lock over and undoes a cut-short append; then Info-ZIP agrees.
      const store = createStore(uri, { serialization: "raw" } as never);
      await store.put("after/crashes", valueFor("after/crashes", 0, 10));
      await store.close();
      execFileSync("unzip", ["-tq", uri]);
      expect(await check(uri, acked)).toBeGreaterThan(0);
      expect((await readdir(dirname(uri))).filter((f) => /\.(lock|journal)$/.test(f))).toEqual([]);
    }
  }, 180_000);
});
