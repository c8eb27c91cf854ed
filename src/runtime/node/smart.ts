/** The smart uri helpers bound to Node: Node's uri schemes, and `-` for stdin/stdout. */

import { createStoreWith } from "../../core/store/create.js";
import type { SmartContext, SmartOpen, SmartRead, SmartStream, SmartWrite } from "../../core/tools/smart.js";
import { smartOpenWith, smartReadWith, smartStreamWith, smartWriteWith } from "../../core/tools/smart.js";
import type { StoreOptions } from "../../core/types.js";
import { nodeRuntime } from "./runtime.js";
import { stdin, stdout } from "./stdio.js";

const ctx: SmartContext = {
  createStore: (uri, options) => createStoreWith(nodeRuntime, uri, options),
  stdio: { stdin, stdout },
};

/**
 * Reads the whole value a uri names (a store and a key, split at the last `/`): bytes by
 * default, text with mode `"r"`. `-` reads stdin.
 * @example
 * const bytes = await smartRead("s3://bucket/reports/2026.pdf");
 * const text = await smartRead("./data/notes.txt", "r");
 */
export const smartRead: SmartRead = ((uri: string, mode?: "rb" | "r", options?: StoreOptions) =>
  smartReadWith(ctx, uri, mode, options)) as SmartRead;

/**
 * Writes a value at a uri: bytes, strings, Blobs and streams as they are, anything else as
 * JSON (or per `options.serialization`). `-` writes to stdout.
 * @example
 * await smartWrite("./data/report.json", { total: 3 });
 * await smartWrite("-", "hello\n");
 */
export const smartWrite: SmartWrite = (uri, data, options) => smartWriteWith(ctx, uri, data, options);

/**
 * Streams the value at a uri line by line (bytes, or strings with mode `"r"`). `-` reads stdin.
 * @example
 * for await (const line of smartStream("s3://bucket/data.jsonl", "r")) console.log(JSON.parse(line));
 */
export const smartStream: SmartStream = ((uri: string, mode?: "rb" | "r", options?: StoreOptions) =>
  smartStreamWith(ctx, uri, mode, options)) as SmartStream;

/**
 * Opens a uri as a web stream: `rb`/`r` readable, `wb`/`w` writable (visible atomically on close).
 * `-` is stdin or stdout.
 * @example
 * const out = await smartOpen("./copy/big.bin", "wb");
 * await (await smartOpen("https://example.org/big.bin")).pipeTo(out);
 */
export const smartOpen: SmartOpen = ((uri: string, mode?: "rb" | "r" | "wb" | "w", options?: StoreOptions) =>
  smartOpenWith(ctx, uri, mode, options)) as SmartOpen;
