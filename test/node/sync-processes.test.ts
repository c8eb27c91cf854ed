/**
 * `sync` across processes (SPEC 12): an `anystore serve` child killed with SIGKILL in the middle
 * of a sync and restarted, after which a rerun converges and no value is lost; and the
 * `anystore sync A B` command.
 */
import type { ChildProcess } from "node:child_process";
import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Store } from "../../src/index.node.js";
import { createStore, isAnystoreError, sync } from "../../src/index.node.js";
import { snapshot } from "../shared/sync-matrix.js";

/** Outside test/.tmp, which every vitest run's global setup empties (other runs share this machine). */
let TMP = "";
let counter = 0;
const unique = () => `sync-processes-${process.pid}-${++counter}`;
const freshDir = () => {
  const dir = join(TMP, unique());
  mkdirSync(dir, { recursive: true });
  return dir;
};
const memory = () => createStore(`memory://${unique()}`);

beforeAll(async () => {
  TMP = await mkdtemp(join(tmpdir(), "anystore-sync-processes-"));
});
afterAll(async () => {
  await rm(TMP, { recursive: true, force: true });
});

describe("sync: the server killed mid-sync", () => {
  let child: ChildProcess | undefined;
  afterAll(() => {
    child?.kill("SIGKILL");
  });

  /** `anystore --store DIR serve` in a child process (from the sources, through tsx); resolves to its url. */
  function startServer(dir: string, port = 0): Promise<string> {
    child = spawn(
      process.execPath,
      ["--import", "tsx", join(process.cwd(), "src/cli/main.ts"), "--store", dir, "serve", "--port", String(port)],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    const started = child;
    return new Promise<string>((resolve, reject) => {
      let seen = "";
      const timer = setTimeout(() => reject(new Error(`serve did not start: ${seen}`)), 20_000);
      started.stderr!.on("data", (chunk: Buffer) => {
        seen += chunk.toString();
        const match = /\((anystore\+http:\/\/127\.0\.0\.1:\d+)\)/.exec(seen);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]!);
        }
      });
      started.on("exit", (code) => reject(new Error(`serve exited with ${code}: ${seen}`)));
    });
  }

  it("a rerun after the restart converges, and no value is lost", async () => {
    const serverDir = freshDir();
    const url = await startServer(serverDir);
    const port = Number(new URL(url.replace("anystore+", "")).port);
    const a = createStore(freshDir());
    const b: Store = createStore(url);
    const truth = memory();
    const value = (i: number, side: string) => `${side} ${i} `.repeat(200 + (i % 7) * 300);
    for (let i = 0; i < 300; i++) {
      const key = `items/${String(i).padStart(3, "0")}.txt`;
      await truth.put(key, value(i, i % 3 === 0 ? "b" : "a"));
      await (i % 3 === 0 ? b : a).put(key, value(i, i % 3 === 0 ? "b" : "a"));
    }
    let killed = false;
    const first = sync(a, b, {
      onProgress: (p) => {
        if (!killed && p.done >= 60) {
          killed = true;
          child!.kill("SIGKILL");
        }
      },
    });
    const error = await first.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(killed).toBe(true);
    expect(isAnystoreError(error, "CONNECTION") || isAnystoreError(error, "IO")).toBe(true);
    await startServer(serverDir, port);
    const rerun = await sync(a, b);
    expect(rerun.failed).toBe(0);
    expect(rerun.copiedToA + rerun.copiedToB).toBeGreaterThan(0); // the kill did cut the first run short
    const [left, right, expected] = await Promise.all([snapshot(a), snapshot(b), snapshot(truth)]);
    expect(Object.keys(expected)).toHaveLength(300);
    expect(left).toEqual(expected);
    expect(right).toEqual(expected);
    expect(await sync(a, b)).toMatchObject({ copiedToA: 0, copiedToB: 0, deletedInA: 0, deletedInB: 0 });
    await b.close();
  }, 120_000);
});

describe("anystore sync A B (the command)", () => {
  /** The command from the sources (through tsx), as a user runs it; bounded so a hang fails the test. */
  function cli(
    args: string[],
    started?: (child: ChildProcess) => void,
  ): Promise<{ code: number | null; stderr: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ["--import", "tsx", join(process.cwd(), "src/cli/main.ts"), ...args], {
        env: { ...process.env, DEBUG: "", ANYSTORE_URI: "", ANYSTORE_TOKEN: "" },
        stdio: ["ignore", "ignore", "pipe"],
      });
      let stderr = "";
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      started?.(child);
      const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
      child.on("error", reject);
      child.on("close", (code) => {
        clearTimeout(timer);
        resolve({ code, stderr });
      });
    });
  }

  it("syncs two directories both ways, reports conflicts, and a second run copies nothing", async () => {
    const dirA = freshDir();
    const dirB = freshDir();
    const a = createStore(dirA);
    const b = createStore(dirB);
    await a.put("notes/a.md", "from a");
    await b.put("notes/b.md", "from b");
    await b.put("notes/c.md", "also from b");
    await b.put("outside.txt", "not synced");
    const first = await cli(["sync", dirA, dirB, "--prefix", "notes"]);
    expect(first.stderr).toMatch(/^synced: to A 2, to B 1, deleted in A 0, in B 0, conflicts 0, failed 0 in /m);
    expect(first.code).toBe(0);
    expect(await snapshot(a)).toEqual(await snapshot(b, "notes"));
    await a.put("notes/a.md", "changed on a");
    await b.put("notes/a.md", "changed on b");
    const second = await cli(["sync", dirA, dirB, "--prefix", "notes"]);
    expect(second.stderr).toMatch(/^conflict notes\/a\.md: a's version kept at notes\/a \(conflict .+\)\.md$/m);
    expect(second.stderr).toMatch(/^synced: to A 1, to B 1, deleted in A 0, in B 0, conflicts 1, failed 0 in /m);
    const third = await cli(["sync", dirA, dirB, "--prefix", "notes"]);
    expect(third.stderr).toMatch(/^synced: to A 0, to B 0, deleted in A 0, in B 0, conflicts 0, failed 0 in /m);
    const bad = await cli(["sync", dirA, dirB, "--conflict", "newest"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/--conflict must be keep-both, a or b/);
  }, 60_000);

  it("--live follows both directories until interrupted, then prints the totals", async () => {
    const dirA = freshDir();
    const dirB = freshDir();
    const a = createStore(dirA);
    const b = createStore(dirB);
    await a.put("first.txt", "before the start");
    let child: ChildProcess | undefined;
    const running = cli(["sync", dirA, dirB, "--live"], (started) => {
      child = started;
    });
    const until = async (check: () => Promise<boolean>) => {
      for (let tries = 0; !(await check()); tries++) {
        if (tries > 500) throw new Error("condition not met in time");
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    await until(() => b.exists("first.txt"));
    await b.put("second.txt", "written on b");
    await until(() => a.exists("second.txt"));
    child!.kill("SIGINT");
    const { code, stderr } = await running;
    expect(code).toBe(0);
    expect(stderr).toMatch(/^synced: to A 1, to B 1, deleted in A 0, in B 0, conflicts 0, failed 0 in /m);
  }, 60_000);
});
