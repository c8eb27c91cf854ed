/** Raw bytes in and out of any store: streams only, so a store's serializer or schema never touches them. */

import { isAnystoreError } from "../../errors.js";
import type { Info, Store } from "../../types.js";

// biome-ignore lint/suspicious/noExplicitAny: a store of any value type (Store<T> uses T both ways, so Store<unknown> would refuse a Store<Note>)
export type AnyStore = Store<any>;

/** The key's info, or null when it is missing. */
export async function infoOrNull(store: AnyStore, key: string): Promise<Info | null> {
  try {
    return await store.info(key);
  } catch (error) {
    if (isAnystoreError(error, "NOT_FOUND")) return null;
    throw error;
  }
}

/** The key's bytes, or null when it is missing. */
export async function readBytes(store: AnyStore, key: string): Promise<Uint8Array | null> {
  let readable: ReadableStream<Uint8Array>;
  try {
    readable = await store.open(key, "r");
  } catch (error) {
    if (isAnystoreError(error, "NOT_FOUND")) return null;
    throw error;
  }
  return new Uint8Array(await new Response(readable).arrayBuffer());
}

/** Writes bytes that never expire, whatever the store's `defaultTtl`. */
export async function writeBytes(store: AnyStore, key: string, bytes: Uint8Array): Promise<void> {
  const writable = await store.open(key, "w", { ttl: 0 });
  const writer = writable.getWriter();
  try {
    await writer.write(bytes);
    await writer.close();
  } catch (error) {
    await writer.abort(error).catch(() => {});
    throw error;
  }
}

/**
 * Streams `from`'s value at `fromKey` into `to` at `toKey`, keeping its content type. The
 * target's old value stays until the new one is complete (a failed or aborted copy leaves it).
 */
export async function copyValue(
  from: AnyStore,
  fromKey: string,
  to: AnyStore,
  toKey: string,
  contentType: string | undefined,
  signal: AbortSignal | undefined,
): Promise<void> {
  const readable = await from.open(fromKey, "r");
  let writable: WritableStream<Uint8Array>;
  try {
    writable = await to.open(toKey, "w", contentType ? { contentType } : {});
  } catch (error) {
    await readable.cancel(error).catch(() => {});
    throw error;
  }
  await readable.pipeTo(writable, signal ? { signal } : {});
}
