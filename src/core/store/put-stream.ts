import type { WriteOptions } from "../driver/contract.js";
import { withComplete } from "./access.js";
import { createNew } from "./create-new.js";
import type { StoreContext } from "./state.js";
import { fail } from "./state.js";

/**
 * `put` of a stream or Blob. `ifNotExists` reaches a driver that creates atomically (its
 * `write` refuses an existing key on close, writing nothing); others get the emulation.
 */
export function putStream(
  c: StoreContext<unknown>,
  key: string,
  k: string,
  value: ReadableStream<Uint8Array> | Blob,
  write: WriteOptions,
): Promise<void> {
  return withComplete(c, async (d) => {
    const source = value instanceof ReadableStream ? value : value.stream();
    const pipe = async (opts: WriteOptions) => source.pipeTo(await d.write(k, opts));
    try {
      await (write.ifNotExists && !d.capabilities.ifNotExists ? createNew(c, d, key, k, write, pipe) : pipe(write));
    } catch (error) {
      // Refused before it was read (the key exists): let the source go.
      if (!source.locked) source.cancel(error).catch(() => {});
      fail(c, error, key);
    }
  });
}
