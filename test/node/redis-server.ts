/**
 * Throwaway redis-server processes for the redis tests: a standalone server on a free loopback
 * port (to stop and restart), and a 3-master cluster. Each lives in its own temporary folder
 * outside test/.tmp, which other test runs may wipe while a cluster still writes nodes.conf.
 */

import type { ChildProcess } from "node:child_process";
import { execFile, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** True when nothing listens on the loopback port. */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** A free port in [20000, 30000) whose cluster bus port (+10000) is free too. */
export async function freePort(taken: number[] = []): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 10000);
    if (taken.includes(port)) continue;
    if ((await portFree(port)) && (await portFree(port + 10000))) return port;
  }
  throw new Error("no free port found");
}

/** Polls `check` until it resolves true, for at most `ms`. */
export async function waitFor(check: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await sleep(100);
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}

export const cli = (port: number, ...args: string[]) =>
  run("redis-cli", ["-h", "127.0.0.1", "-p", String(port), ...args], { timeout: 10_000 }).then((r) => r.stdout.trim());

export interface RedisProcess {
  port: number;
  start(): Promise<void>;
  /** Stops the server (SIGKILL by default: the fastest, most brutal outage). */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Sends a signal without waiting (SIGSTOP freezes the server: connections stay open, nothing answers). */
  signal(signal: NodeJS.Signals): void;
}

/** A redis-server on `port`, not started yet. `extra` are more command-line options. */
export function redisProcess(port: number, dir: string, extra: string[] = []): RedisProcess {
  let child: ChildProcess | undefined;
  const args = [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--save",
    "",
    "--appendonly",
    "no",
    "--daemonize",
    "no",
    "--dir",
    dir,
    ...extra,
  ];
  return {
    port,
    async start() {
      child = spawn("redis-server", args, { stdio: "ignore" });
      await waitFor(async () => (await cli(port, "ping")) === "PONG", 10_000, `redis-server on ${port}`);
    },
    async stop(signal = "SIGKILL") {
      const c = child;
      child = undefined;
      if (!c || c.exitCode !== null) return;
      const exited = new Promise((resolve) => c.once("exit", resolve));
      c.kill("SIGCONT");
      c.kill(signal);
      await Promise.race([exited, sleep(5000)]);
    },
    signal(signal) {
      child?.kill(signal);
    },
  };
}

export interface RedisCluster {
  ports: number[];
  stop(): Promise<void>;
}

/** Starts a 3-master cluster on free loopback ports and waits until `cluster info` says ok on every node. */
export async function startCluster(): Promise<RedisCluster> {
  const dir = await mkdtemp(join(tmpdir(), "anystore-redis-cluster-"));
  const ports: number[] = [];
  for (let i = 0; i < 3; i++) ports.push(await freePort(ports));
  const nodes = ports.map((port) =>
    redisProcess(port, dir, [
      "--cluster-enabled",
      "yes",
      "--cluster-config-file",
      `nodes-${port}.conf`,
      "--cluster-node-timeout",
      "5000",
    ]),
  );
  const stop = async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await Promise.all(nodes.map((n) => n.start()));
    await run("redis-cli", ["--cluster", "create", ...ports.map((p) => `127.0.0.1:${p}`), "--cluster-yes"], {
      timeout: 30_000,
    });
    await waitFor(
      async () =>
        (await Promise.all(ports.map((p) => cli(p, "cluster", "info")))).every((info) =>
          info.includes("cluster_state:ok"),
        ),
      30_000,
      "the cluster to be ok",
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return { ports, stop };
}

/** A temporary folder for a standalone test server. */
export const tempDir = () => mkdtemp(join(tmpdir(), "anystore-redis-"));
