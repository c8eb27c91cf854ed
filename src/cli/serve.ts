/** `anystore serve`: the HTTP protocol (SPEC 8) over the store, on loopback by default. */

import type { Command } from "commander";
import { InvalidArgumentError } from "../core/errors.js";
import type { ServeOptions } from "../server/serve.js";
import { serve } from "../server/serve.js";
import { defaultStore, formatError, note, tokenOf } from "./context.js";

/** Numeric flags: the flag, its `serve()` option and the help text (defaults are serve()'s). */
const LIMITS = [
  ["--max-body-bytes <n>", "maxBodyBytes", "refuse larger uploads with 413 (default 1 GiB; Infinity for none)"],
  ["--max-connections <n>", "maxConnections", "most connections open at once (default 1000)"],
  ["--headers-timeout <ms>", "headersTimeout", "time to send request headers (default 30000)"],
  ["--request-timeout <ms>", "requestTimeout", "time to send a whole request, body included (default 3600000; 0 none)"],
  ["--body-timeout <ms>", "bodyTimeout", "window in which a body must reach --min-body-rate (default 30000; 0 none)"],
  ["--min-body-rate <bytes/s>", "minBodyRate", "slowest upload accepted (default 1024)"],
  ["--idle-timeout <ms>", "idleTimeout", "time a client may leave a response unread (default 60000; 0 never)"],
  ["--keep-alive-timeout <ms>", "keepAliveTimeout", "idle time between requests on one connection (default 5000)"],
] as const;

type LimitName = (typeof LIMITS)[number][1];

/** The limits given on the command line, as numbers >= 0. */
function limitsOf(opts: Record<string, unknown>): Partial<Pick<ServeOptions, LimitName>> {
  const limits: Partial<Record<LimitName, number>> = {};
  for (const [flag, name] of LIMITS) {
    const text = opts[name];
    if (typeof text !== "string") continue;
    const value = Number(text);
    if (!(value >= 0)) throw new InvalidArgumentError(`${flag.split(" ")[0]} must be a number >= 0, got ${text}`);
    limits[name] = value;
  }
  return limits;
}

export function registerServe(program: Command): void {
  const command = program
    .command("serve")
    .description("serve the store over HTTP (anystore protocol); clients use anystore+http://HOST:PORT")
    .option("--host <host>", "interface to listen on", "127.0.0.1")
    .option("--port <port>", "port to listen on (0: a free one)", "8787")
    .option("--readonly", "refuse every write with 403")
    .option("--cors <origin...>", "origins allowed from browsers (* for any)");
  for (const [flag, , help] of LIMITS) command.option(flag, help);
  command
    .addHelpText(
      "after",
      "\nWith --token (or ANYSTORE_TOKEN), every request must carry Authorization: Bearer TOKEN.\nServer errors (5xx) are logged on stderr; clients get one generic line.",
    )
    .action(
      async (
        opts: { host: string; port: string; readonly?: boolean; cors?: string[] } & Record<string, unknown>,
        command: Command,
      ) => {
        const port = Number(opts.port);
        if (!Number.isInteger(port) || port < 0 || port > 65535)
          throw new InvalidArgumentError(`--port must be 0-65535, got ${opts.port}`);
        const limits = limitsOf(opts);
        const token = tokenOf(command);
        const store = defaultStore(command);
        const server = await serve(store, {
          host: opts.host,
          port,
          ...(token && { token }),
          ...(opts.readonly && { readonly: true }),
          ...(opts.cors && { cors: opts.cors.length === 1 ? opts.cors[0]! : opts.cors }),
          ...limits,
          onError: (error) => note(`anystore serve: ${formatError(error)}`),
        });
        note(
          `anystore: serving ${store.uri} at ${server.url} (anystore+${server.url})${opts.readonly ? ", readonly" : ""}`,
        );
        await new Promise<void>((resolve) => {
          const stop = () => resolve();
          process.once("SIGINT", stop);
          process.once("SIGTERM", stop);
        });
        await server.close();
        await store.close();
      },
    );
}
