/** Runs test/node/process-worker.ts in child processes (see there for the modes). */
import type { ChildProcess } from "node:child_process";
import { spawn } from "node:child_process";
import { join } from "node:path";

const WORKER = join(import.meta.dirname, "process-worker.ts");

export interface Worker {
  child: ChildProcess;
  /** Lines printed so far. */
  lines: string[];
  /** Resolves with the exit code (or signal) and stderr once the process has ended. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
  /** Resolves once `count` lines have been printed (or the process has ended). */
  linesAtLeast(count: number): Promise<void>;
}

/** Runs `script` (process-worker.ts unless told) with `args` in a child process. */
export function startWorker(args: Array<string | number>, script = WORKER): Worker {
  const child = spawn(process.execPath, ["--import", "tsx", script, ...args.map(String)], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  const lines: string[] = [];
  let stderr = "";
  let buffered = "";
  const waiters: Array<() => void> = [];
  child.stdout!.setEncoding("utf8").on("data", (text: string) => {
    buffered += text;
    const parts = buffered.split("\n");
    buffered = parts.pop()!;
    lines.push(...parts);
    for (const wake of waiters.splice(0)) wake();
  });
  child.stderr!.setEncoding("utf8").on("data", (text: string) => (stderr += text));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) =>
    child.once("close", (code, signal) => {
      for (const wake of waiters.splice(0)) wake();
      resolve({ code, signal, stderr });
    }),
  );
  const linesAtLeast = async (count: number) => {
    while (lines.length < count && child.exitCode === null && child.signalCode === null)
      await new Promise<void>((wake) => waiters.push(wake));
  };
  return { child, lines, exited, linesAtLeast };
}

/** Runs a `race` worker to the end and returns what it printed. */
export async function raceWorker(
  uri: string,
  id: number,
  n: number,
  startAt: number,
): Promise<{ errors: string[]; won: number }> {
  const worker = startWorker(["race", uri, id, n, startAt]);
  const { code, stderr } = await worker.exited;
  const last = worker.lines.at(-1);
  if (code !== 0 || !last) throw new Error(`worker ${id} failed (exit ${code}): ${stderr}`);
  return JSON.parse(last) as { errors: string[]; won: number };
}
