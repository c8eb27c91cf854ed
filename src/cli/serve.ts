/** `anystore serve`: the HTTP protocol (SPEC 8) over the store, on loopback by default. */

import type { Command } from "commander";
import { InvalidArgumentError } from "../core/errors.js";
import { serve } from "../server/serve.js";
import { defaultStore, note, tokenOf } from "./context.js";

export function registerServe(program: Command): void {
  program
    .command("serve")
    .description("serve the store over HTTP (anystore protocol); clients use anystore+http://HOST:PORT")
    .option("--host <host>", "interface to listen on", "127.0.0.1")
    .option("--port <port>", "port to listen on (0: a free one)", "8787")
    .option("--readonly", "refuse every write with 403")
    .option("--cors <origin...>", "origins allowed from browsers (* for any)")
    .option("--max-body-bytes <n>", "refuse larger uploads with 413")
    .addHelpText("after", "\nWith --token (or ANYSTORE_TOKEN), every request must carry Authorization: Bearer TOKEN.")
    .action(async (opts: { host: string; port: string; readonly?: boolean; cors?: string[]; maxBodyBytes?: string }, command: Command) => {
      const port = Number(opts.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError(`--port must be 0-65535, got ${opts.port}`);
      const maxBodyBytes = opts.maxBodyBytes === undefined ? undefined : Number(opts.maxBodyBytes);
      if (maxBodyBytes !== undefined && !(maxBodyBytes >= 0)) throw new InvalidArgumentError(`--max-body-bytes must be a number >= 0`);
      const token = tokenOf(command);
      const store = defaultStore(command);
      const server = await serve(store, {
        host: opts.host,
        port,
        ...(token && { token }),
        ...(opts.readonly && { readonly: true }),
        ...(opts.cors && { cors: opts.cors.length === 1 ? opts.cors[0]! : opts.cors }),
        ...(maxBodyBytes !== undefined && { maxBodyBytes }),
      });
      note(`anystore: serving ${store.uri} at ${server.url} (anystore+${server.url})${opts.readonly ? ", readonly" : ""}`);
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
      });
      await server.close();
      await store.close();
    });
}
