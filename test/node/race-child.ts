/**
 * A racer process for races.test.ts, run as `node --import tsx race-child.ts`. It reads one
 * JSON command per stdin line and answers one JSON line on stdout:
 *
 *   { op: "prepare", uri, options, key, kind, ids }  opens the store (kept per uri), loads
 *                                                   everything a put needs, answers { ready }
 *   { op: "go" }                                     runs the prepared creates of `key` at once
 *                                                   (`put(key, value, { ifNotExists: true })`, as
 *                                                   bytes or as a stream) and answers each
 *                                                   racer's outcome: "won" or an error code
 *
 * A command that fails is answered with { error }.
 * Closes its stores and exits when stdin ends.
 */
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { Store, StoreOptions } from "../../src/index.node.js";
import { createStore } from "../../src/index.node.js";
import { inTwoChunks } from "../shared/streams.js";

/** Racer i's value: bytes no other racer writes. */
export const racerValue = (i: number): Uint8Array<ArrayBuffer> =>
  new TextEncoder().encode(`racer ${i};`.repeat(20 + i));

export type Kind = "bytes" | "stream";

export interface Prepare {
  op: "prepare";
  uri: string;
  options?: StoreOptions;
  key: string;
  kind: Kind;
  ids: number[];
}

const outcomeOf = (error: unknown): string => (error as { code?: string })?.code ?? String(error);

async function main(): Promise<void> {
  const stores = new Map<string, Store>();
  let prepared: { store: Store; command: Prepare } | undefined;
  const answer = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`);
  const prepare = async (command: Prepare) => {
    let store = stores.get(command.uri);
    if (!store) {
      store = createStore(command.uri, command.options);
      stores.set(command.uri, store);
    }
    // Connects and loads the lazy half of the store, so the creates start together on "go".
    await store.capabilities();
    await store.exists(command.key);
    prepared = { store, command };
    return { ready: true };
  };
  const go = async () => {
    const { store, command: c } = prepared!;
    const values = c.ids.map((i) => (c.kind === "bytes" ? racerValue(i) : inTwoChunks(racerValue(i))));
    return {
      outcomes: await Promise.all(
        values.map((value) => store.put(c.key, value, { ifNotExists: true }).then(() => "won", outcomeOf)),
      ),
    };
  };
  for await (const line of createInterface({ input: process.stdin })) {
    const command = JSON.parse(line) as Prepare | { op: "go" };
    // A failing command is answered, not fatal: the next test still has its racers.
    answer(
      await (command.op === "prepare" ? prepare(command) : go()).catch((error) => ({
        error: String((error as Error)?.stack ?? error),
      })),
    );
  }
  await Promise.all([...stores.values()].map((store) => store.close()));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((error) => {
    process.stderr.write(`${String((error as Error)?.stack ?? error)}\n`);
    process.exit(1);
  });
}
