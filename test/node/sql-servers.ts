/**
 * Throwaway database servers for the connection-loss tests: a PostgreSQL cluster (initdb +
 * pg_ctl) and a MariaDB instance on an empty datadir, each on a free loopback port under
 * test/.tmp, started and stopped by the test itself.
 */

import type { ChildProcess } from "node:child_process";
import { execFile, spawn } from "node:child_process";
import { chown, mkdir, readdir } from "node:fs/promises";
import { connect, createServer } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const isRoot = process.getuid?.() === 0;

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once something accepts connections on the port, or rejects after `ms`. */
export async function waitForPort(port: number, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, "127.0.0.1");
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${port} after ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export interface Server {
  url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
}

async function pgBin(name: string): Promise<string> {
  const versions = (await readdir("/usr/lib/postgresql")).sort((a, b) => Number(b) - Number(a));
  return join("/usr/lib/postgresql", versions[0]!, "bin", name);
}

/** initdb refuses to run as root: run the cluster as the `postgres` user then. */
const asPostgres = (cmd: string, args: string[]) =>
  isRoot ? run("runuser", ["-u", "postgres", "--", cmd, ...args]) : run(cmd, args);

export async function startPostgres(dir: string): Promise<Server> {
  await mkdir(dir, { recursive: true });
  if (isRoot)
    await chown(
      dir,
      Number((await run("id", ["-u", "postgres"])).stdout),
      Number((await run("id", ["-g", "postgres"])).stdout),
    );
  const data = join(dir, "data");
  const port = await freePort();
  await asPostgres(await pgBin("initdb"), [
    "-D",
    data,
    "-A",
    "trust",
    "-U",
    "postgres",
    "--no-sync",
    "-E",
    "UTF8",
    "--locale=C.UTF-8",
  ]);
  const ctl = await pgBin("pg_ctl");
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`;
  const server: Server = {
    url: `postgresql://postgres@127.0.0.1:${port}/postgres`,
    start: async () => {
      await asPostgres(ctl, ["-D", data, "-o", options, "-l", join(dir, "log"), "-w", "-t", "30", "start"]);
    },
    stop: async () => {
      await asPostgres(ctl, ["-D", data, "-m", "immediate", "-w", "-t", "30", "stop"]).catch(() => {});
    },
  };
  await server.start();
  return server;
}

/** A throwaway MariaDB; `extra` adds server options (e.g. `--max-allowed-packet=1G`). */
export async function startMariadb(dir: string, extra: string[] = []): Promise<Server> {
  const data = join(dir, "data");
  await mkdir(data, { recursive: true });
  const port = await freePort();
  let child: ChildProcess | undefined;
  const args = [
    "--no-defaults",
    `--datadir=${data}`,
    `--port=${port}`,
    "--bind-address=127.0.0.1",
    `--socket=${join(dir, "sock")}`,
    `--pid-file=${join(dir, "pid")}`,
    "--skip-grant-tables",
    "--skip-log-bin",
    "--innodb-buffer-pool-size=16M",
    ...(isRoot ? ["--user=root"] : []),
    ...extra,
  ];
  const server: Server = {
    url: `mysql://root@127.0.0.1:${port}/test`,
    start: async () => {
      child = spawn("mariadbd", args, { stdio: "ignore" });
      await waitForPort(port);
    },
    stop: async () => {
      const c = child;
      child = undefined;
      if (!c || c.exitCode !== null) return;
      const exited = new Promise((resolve) => c.once("exit", resolve));
      c.kill("SIGKILL");
      await exited;
    },
  };
  await server.start();
  // An empty datadir has no `test` database yet (and no grant tables, hence --skip-grant-tables).
  await run("mariadb", [
    "-h",
    "127.0.0.1",
    "-P",
    String(port),
    "-u",
    "root",
    "-e",
    "CREATE DATABASE IF NOT EXISTS test",
  ]);
  return server;
}
