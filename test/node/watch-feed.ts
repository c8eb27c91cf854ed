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
    all(wanted, ms = 2000) {
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
    next(match, ms = 2000) {
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
