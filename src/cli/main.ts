#!/usr/bin/env node
/**
 * The `anystore` command (SPEC 9). Errors print one line and exit 1 (`DEBUG=1` adds the stack);
 * a closed pipe (`anystore get big | head`) ends quietly.
 */

import { readFileSync } from "node:fs";
import { Command } from "commander";
import { registerKeyCommands } from "./commands.js";
import { formatError, isBrokenPipe } from "./context.js";
import { registerIo } from "./io.js";
import { registerMirror } from "./mirror.js";
import { registerServe } from "./serve.js";
import { registerSync } from "./sync.js";

/** The installed package's version (dist/cli/main.js and src/cli/main.ts both sit two levels down). */
function version(): string {
  return JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")).version;
}

function buildProgram(): Command {
  const program = new Command("anystore")
    .version(version(), "-V, --version", "print the version")
    .description(
      "read and write data by key in any store: a directory, sqlite://, redis://, s3://, anystore+http://, ...",
    )
    .option("-s, --store <uri>", "the store (default: ANYSTORE_URI, else .anystore)")
    .option(
      "--token <token>",
      "bearer token: sent to anystore+http(s) stores; required of clients by serve (default: ANYSTORE_TOKEN)",
    )
    .showHelpAfterError("(add --help for usage)");
  registerKeyCommands(program);
  registerIo(program);
  registerMirror(program);
  registerSync(program);
  registerServe(program);
  return program;
}

async function main(argv: string[] = process.argv): Promise<void> {
  process.stdout.on("error", (error) => {
    if (isBrokenPipe(error)) process.exit(0);
    throw error;
  });
  try {
    await buildProgram().parseAsync(argv);
  } catch (error) {
    if (!isBrokenPipe(error)) {
      process.stderr.write(`${formatError(error)}\n`);
      process.exitCode = 1;
    }
  }
  // Exit once the output is flushed, not when the event loop drains: a timer or socket a
  // driver left behind must not keep a finished command waiting.
  const code = typeof process.exitCode === "number" ? process.exitCode : 0;
  const exit = () => process.exit(code);
  setTimeout(exit, 2000).unref();
  process.stdout.write("", () => process.stderr.write("", exit));
}

await main();
