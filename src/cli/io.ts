/** `anystore io`: copy one uri to another (`-` is stdin/stdout), streaming. */

import type { Command } from "commander";
import type { SmartContext } from "../core/tools/smart.js";
import { smartOpenWith } from "../core/tools/smart.js";
import { stdin, stdout } from "../runtime/node/stdio.js";
import { openStore } from "./context.js";

export function registerIo(program: Command): void {
  program
    .command("io")
    .description("copy the bytes at one uri to another (a store uri plus /KEY; - for stdin/stdout)")
    .option("-i, --input <uri>", "where to read", "-")
    .option("-o, --output <uri>", "where to write", "-")
    .action(async (opts: { input: string; output: string }, command: Command) => {
      // The smart helpers, with the CLI's token for anystore+http uris.
      const ctx: SmartContext = { createStore: (uri) => openStore(uri, command), stdio: { stdin, stdout } };
      const source = (await smartOpenWith(ctx, opts.input, "rb")) as ReadableStream<Uint8Array>;
      const sink = (await smartOpenWith(ctx, opts.output, "wb")) as WritableStream<Uint8Array>;
      await source.pipeTo(sink);
    });
}
