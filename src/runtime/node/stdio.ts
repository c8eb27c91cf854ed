/** stdin and stdout as web streams, for the uri `-` in Node. */

import { Readable } from "node:stream";

/** Standard input as bytes. */
export function stdin(): ReadableStream<Uint8Array> {
  return Readable.toWeb(process.stdin) as unknown as ReadableStream<Uint8Array>;
}

/**
 * Standard output as bytes. Closing it does not end `process.stdout` (later output still works);
 * it waits until what was written has been handed to the OS.
 */
export function stdout(): WritableStream<Uint8Array> {
  return new WritableStream<Uint8Array>({
    write: (chunk) =>
      new Promise<void>((resolve, reject) => {
        process.stdout.write(chunk, (error) => (error ? reject(error) : resolve()));
      }),
  });
}
