/**
 * Helpers for the watch tests of the remote drivers: a driver's change feed collected into an
 * array (the seam, `driver.watch`), and a writer in another process (watch-remote-writer.ts).
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import type { Driver, DriverWatchEvent } from "../../src/core/driver/contract.js";

export interface Feed {
  events: DriverWatchEvent[];
  /** Resolves with the first event (from `from` on) that matches, or rejects after `ms`. */
  next(match: (e: DriverWatchEvent) => boolean, ms?: number): Promise<DriverWatchEvent>;
  /** Resolves once every one of `lines` has been seen, in any order (keys of different slots or shards). */
  all(lines: string[], ms?: number): Promise<void>;
  /** Events seen so far, as `put k` / `delete k` / `resync` lines. */
  lines(): string[];
  stop(): void;
}

export const describeEvent = (e: DriverWatchEvent) => (e.type === "resync" ? "resync" : `${e.type} ${e.key}`);

/** Starts `driver.watch(prefix)` and resolves once it listens. */
export async function feed(driver: Driver, prefix = ""): Promise<Feed> {
  const events: DriverWatchEvent[] = [];
  const waiters = new Set<() => void>();
  const controller = new AbortController();
  await driver.watch!(
    prefix,
    (e) => {
      events.push(e);
      for (const wake of waiters) wake();
    },
    controller.signal,
  );
  let from = 0;
  return {
    events,
    lines: () => events.map(describeEvent),
    stop: () => controller.abort(),
    all(wanted, ms = 5000) {
      return new Promise((resolve, reject) => {
        const look = () => {
          const seen = new Set(events.map(describeEvent));
          if (!wanted.every((line) => seen.has(line))) return;
          waiters.delete(look);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(look);
          const seen = new Set(events.map(describeEvent));
          reject(new Error(`not seen within ${ms} ms: ${wanted.filter((line) => !seen.has(line)).join(", ")}`));
        }, ms);
        waiters.add(look);
        look();
      });
    },
    next(match, ms = 5000) {
      return new Promise((resolve, reject) => {
        const look = () => {
          for (let i = from; i < events.length; i++) {
            if (match(events[i]!)) {
              from = i + 1;
              waiters.delete(look);
              clearTimeout(timer);
              resolve(events[i]!);
              return;
            }
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(look);
          reject(new Error(`no matching event within ${ms} ms; seen: ${events.map(describeEvent).join(", ")}`));
        }, ms);
        waiters.add(look);
        look();
      });
    },
  };
}

/** Matches `put k`, `delete k` or `resync`. */
export const is =
  (line: string) =>
  (e: DriverWatchEvent): boolean =>
    describeEvent(e) === line;

const WRITER = join(import.meta.dirname, "watch-remote-writer.ts");

/** Runs the ops (see watch-remote-writer.ts) in another process's store; resolves when it is done. */
export function writeElsewhere(uri: string, options: Record<string, unknown>, ...ops: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", WRITER, uri, JSON.stringify(options), ...ops], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (b) => (out += b));
    child.stderr.on("data", (b) => (out += b));
    child.once("close", (code) =>
      code === 0 ? resolve() : reject(new Error(`writer exited with ${code}: ${out.slice(-2000)}`)),
    );
  });
}

export interface Watcher {
  /** Lines printed so far. */
  lines: string[];
  /** Resolves once a line equal to `line` was printed; rejects after `ms` or when the process ends first. */
  printed(line: string, ms?: number): Promise<void>;
  /** Resolves with the exit code once the process has ended by itself; rejects (and kills it) after `ms`. */
  exited(ms?: number): Promise<number | null>;
  kill(): void;
}

/** Runs watch-remote-writer.ts with `args` and follows what it prints. */
export function startProcess(args: string[]): Watcher {
  const child = spawn(process.execPath, ["--import", "tsx", WRITER, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  const lines: string[] = [];
  let buffered = "";
  let stderr = "";
  const wake = new Set<() => void>();
  child.stdout.setEncoding("utf8").on("data", (text: string) => {
    const parts = (buffered + text).split("\n");
    buffered = parts.pop()!;
    lines.push(...parts);
    for (const w of wake) w();
  });
  child.stderr.setEncoding("utf8").on("data", (text: string) => (stderr += text));
  const ended = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)));
  ended.then(() => {
    for (const w of wake) w();
  });
  const within = <T>(ms: number, what: string, p: Promise<T>) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${what} within ${ms} ms; printed: ${lines.join(" | ")} ${stderr}`)),
        ms,
      );
    });
    return Promise.race([p, late]).finally(() => clearTimeout(timer));
  };
  return {
    lines,
    printed(line, ms = 10_000) {
      return within(
        ms,
        `no line ${JSON.stringify(line)}`,
        new Promise<void>((resolve, reject) => {
          const look = () => {
            if (lines.includes(line)) {
              wake.delete(look);
              resolve();
            } else if (child.exitCode !== null || child.signalCode !== null) {
              wake.delete(look);
              reject(new Error(`the process ended before printing ${line}: ${lines.join(" | ")} ${stderr}`));
            }
          };
          wake.add(look);
          look();
        }),
      );
    },
    exited(ms = 10_000) {
      return within(ms, "the process did not exit", ended).catch((error) => {
        child.kill("SIGKILL");
        throw error;
      });
    },
    kill: () => child.kill("SIGKILL"),
  };
}
