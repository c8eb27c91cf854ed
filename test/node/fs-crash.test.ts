/**
 * kill -9 crash test for the fs driver (issue 11): writers killed at random moments never
 * leave a torn value, a listed temp file, or leftovers that `sweep()` cannot clear.
 */
import { spawn } from "node:child_process";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";
import { fsDriver } from "../../src/drivers/node/fs/fs.js";
import { collectKeys, sleep } from "../shared/contract.js";
import { isWhole } from "./fs-values.js";
import { TMP } from "./tmp.js";

const WORKER = fileURLToPath(new URL("./fs-worker.ts", import.meta.url));
const KEYS = [0, 1, 2, 3].flatMap((i) => [`k${i}`, `d/e/k${i}`]);

/** A writer process (see fs-worker.ts); `ready` once it has written one value. */
function startWriter(root: string, seed: number) {
  const child = spawn(process.execPath, ["--import", "tsx", WORKER, "write", root, String(seed)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout.on("data", (chunk: Buffer) => chunk.toString().includes("ready") && resolve());
    child.on("exit", (code, signal) => reject(new Error(`writer exited early: ${code ?? signal}`)));
  });
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  const kill = () => {
    child.kill("SIGKILL");
    return exited;
  };
  return { ready, kill };
}

async function tempFiles(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.name.startsWith(".anystore-tmp-")).map((e) => join(e.parentPath, e.name));
}

it("writers killed with SIGKILL mid-write leave every key whole (old or new), no listed temp file, and sweep() clears the rest", async () => {
  const root = join(TMP, `fs-crash-${process.pid}`);
  const reader = fsDriver({ root });
  let checked = 0;
  for (let round = 0; round < 4; round++) {
    const writers = [0, 1].map((i) => startWriter(root, round * 2 + i + 1));
    await Promise.all(writers.map((w) => w.ready));
    await sleep(20 + Math.random() * 150);
    await Promise.all(writers.map((w) => w.kill()));
    const listed = await collectKeys(reader.list!(""));
    expect(listed.filter((key) => !KEYS.includes(key))).toEqual([]);
    for (const key of KEYS) {
      const value = await reader.get(key);
      if (value === null) continue;
      expect(isWhole(value), `${key} is torn`).toBe(true);
      expect(listed).toContain(key);
      checked++;
    }
  }
  expect(checked).toBeGreaterThan(0);
  await fsDriver({ root, tempMaxAge: 0 }).sweep!();
  expect(await tempFiles(root)).toEqual([]);
  for (const key of KEYS) {
    const value = await reader.get(key);
    if (value !== null) expect(isWhole(value)).toBe(true);
  }
}, 120_000);
