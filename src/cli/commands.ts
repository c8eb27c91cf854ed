/** The key-level commands: get, put, keys, delete, info, checksum. */

import { createReadStream, createWriteStream } from "node:fs";
import { Readable, Writable } from "node:stream";
import type { Command } from "commander";
import { InvalidArgumentError } from "../core/errors.js";
import { HASH_ALGORITHMS, type HashAlgorithm } from "../core/hashing.js";
import type { Info } from "../core/types.js";
import { stdin, stdout } from "../runtime/node/stdio.js";
import { print, withStore } from "./context.js";

const infoJson = (info: Info) => JSON.stringify(info);

export function registerKeyCommands(program: Command): void {
  program
    .command("get")
    .description("write the raw bytes of KEY to stdout (or to a file)")
    .argument("<key>")
    .option("-o, --output <file>", "write to this file instead of stdout")
    .action(async (key: string, opts: { output?: string }, command: Command) => {
      await withStore(command, async (store) => {
        const bytes = await store.open(key, "r");
        const sink = opts.output
          ? (Writable.toWeb(createWriteStream(opts.output)) as WritableStream<Uint8Array>)
          : stdout();
        await bytes.pipeTo(sink);
      });
    });

  program
    .command("put")
    .description("store VALUE (or the file given with -i, or stdin) under KEY, as raw bytes")
    .argument("<key>")
    .argument("[value]")
    .option("-i, --input <file>", "read the value from this file")
    .action(async (key: string, value: string | undefined, opts: { input?: string }, command: Command) => {
      if (value !== undefined && opts.input) throw new InvalidArgumentError("give either VALUE or -i FILE, not both");
      await withStore(command, async (store) => {
        // A Blob or a stream is stored byte for byte, whatever the store's serialization.
        if (value !== undefined) return store.put(key, new Blob([value]));
        const source = opts.input
          ? (Readable.toWeb(createReadStream(opts.input)) as unknown as ReadableStream<Uint8Array>)
          : stdin();
        await store.put(key, source);
      });
    });

  program
    .command("keys")
    .description("list keys, one per line (with --info: one JSON object per line)")
    .option("--prefix <prefix>", "only keys under this path prefix")
    .option("--exclude-prefix <prefix>", "drop keys starting with this string")
    .option("--glob <pattern>", "only keys matching this glob (relative to the prefix)")
    .option("--info", "print each key's info as JSON")
    .action(
      async (opts: { prefix?: string; excludePrefix?: string; glob?: string; info?: boolean }, command: Command) => {
        const list = {
          ...(opts.prefix !== undefined && { prefix: opts.prefix }),
          ...(opts.excludePrefix !== undefined && { excludePrefix: opts.excludePrefix }),
          ...(opts.glob !== undefined && { glob: opts.glob }),
        };
        await withStore(command, async (store) => {
          // Lines are batched: one write per key would make large listings crawl.
          let batch = "";
          const lines = opts.info ? mapIter(store.list(list), infoJson) : store.keys(list);
          for await (const line of lines) {
            batch += `${line}\n`;
            if (batch.length > 64 * 1024) {
              await print(batch);
              batch = "";
            }
          }
          if (batch) await print(batch);
        });
      },
    );

  program
    .command("delete")
    .description("delete KEY (a missing key is not an error)")
    .argument("<key>")
    .action(async (key: string, _opts: unknown, command: Command) => {
      await withStore(command, (store) => store.delete(key));
    });

  program
    .command("info")
    .description("print KEY's info as JSON")
    .argument("<key>")
    .action(async (key: string, _opts: unknown, command: Command) => {
      await withStore(command, async (store) => print(`${infoJson(await store.info(key))}\n`));
    });

  program
    .command("checksum")
    .description("print the hex checksum of KEY's bytes")
    .argument("<key>")
    .option("-a, --algorithm <name>", `one of ${HASH_ALGORITHMS.join(", ")}`, "sha256")
    .action(async (key: string, opts: { algorithm: string }, command: Command) => {
      await withStore(command, async (store) =>
        print(`${await store.checksum(key, opts.algorithm as HashAlgorithm)}\n`),
      );
    });
}

async function* mapIter<T, R>(source: AsyncIterable<T>, fn: (item: T) => R): AsyncGenerator<R> {
  for await (const item of source) yield fn(item);
}
