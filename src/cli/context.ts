/** What every command shares: the store from the global options, output, one-line errors. */

import type { Command } from "commander";
import type { Store } from "../core/types.js";
import { createStore } from "../index.node.js";

export interface GlobalOptions {
  store?: string;
  token?: string;
}

/** The global options, wherever on the command line they were given. */
export function globals(command: Command): GlobalOptions {
  return command.optsWithGlobals() as GlobalOptions;
}

/** The bearer token: `--token`, else `ANYSTORE_TOKEN`. */
export function tokenOf(command: Command): string | undefined {
  return globals(command).token || process.env.ANYSTORE_TOKEN || undefined;
}

/** Opens a store by uri with the CLI's options (the token reaches anystore+http stores). */
export function openStore(uri: string | undefined, command: Command): Store {
  const token = tokenOf(command);
  return createStore(uri, token ? { token } : {});
}

/** The store named by `--store`, else `ANYSTORE_URI`, else `.anystore`. */
export function defaultStore(command: Command): Store {
  return openStore(globals(command).store || process.env.ANYSTORE_URI || ".anystore", command);
}

/** Runs `use` with the command's store and closes it afterwards. */
export async function withStore<R>(command: Command, use: (store: Store) => Promise<R>): Promise<R> {
  const store = defaultStore(command);
  try {
    return await use(store);
  } finally {
    await store.close();
  }
}

/** Writes to stdout with backpressure. */
export function print(text: string | Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    process.stdout.write(text, (error) => (error ? reject(error) : resolve()));
  });
}

/** A diagnostic line on stderr (never mixed into data on stdout). */
export function note(line: string): void {
  process.stderr.write(`${line}\n`);
}

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];

export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${UNITS[unit]}`;
}

/** True for a write to a closed pipe (`anystore get big | head`): not an error worth a word. */
export function isBrokenPipe(error: unknown): boolean {
  const code = (error as { code?: string })?.code;
  const cause = (error as { cause?: { code?: string } })?.cause?.code;
  return code === "EPIPE" || cause === "EPIPE" || code === "ERR_STREAM_DESTROYED";
}

/** `NotFoundError: key does not exist: foo`: one line, the stack only with DEBUG=1. */
export function formatError(error: unknown): string {
  if (process.env.DEBUG && process.env.DEBUG !== "0" && error instanceof Error && error.stack) return error.stack;
  if (error instanceof Error) return `${error.name}: ${error.message}`.replace(/\s*\n\s*/g, " ");
  return `Error: ${String(error)}`;
}
