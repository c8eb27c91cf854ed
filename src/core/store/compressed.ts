/**
 * The store's operations on compressed values (SPEC 14): what `get`, `put`, `pop`, batches and
 * `open` do when a call or the store names a `compression`. Values pass through the codec as
 * streams; `get` gathers the decompressed bytes only to decode them. Part of the lazy half.
 */

import type { Compression } from "../compression.js";
import { checkCompression, compressBytes, compressStream, decompressBytes, decompressStream } from "../compression.js";
import type { ByteRange, WriteOptions } from "../driver/contract.js";
import { decodeValue, encodeTextOrBytes, isStreamLike, utf8 } from "../serialize.js";
import { bytesToStream } from "../streams/from-bytes.js";
import { sliceStream } from "../streams/slice-stream.js";
import { collect } from "../streams/to-bytes.js";
import type { GetOptions, PutOptions } from "../types.js";
import { withComplete } from "./access.js";
import { putStream } from "./put-stream.js";
import type { StoreContext } from "./state.js";
import { attempt, codecOf, fail, fullKey, missing } from "./state.js";

type Context = StoreContext<unknown>;

/** The format a call uses: its own `compression`, else the store's; undefined for none (`false`); a bad name throws. */
export function compressionOf(
  c: Context,
  opts: { compression?: unknown } | undefined,
  key?: string,
): Compression | undefined {
  const value = opts?.compression ?? c.shared.options.compression;
  if (!value) return undefined; // as the hot paths read it: undefined, false (or "") compress nothing
  try {
    return checkCompression(value);
  } catch (error) {
    fail(c, error, key);
  }
}

/** A key's stored bytes decompressed, as a stream; null when the key is missing. */
export async function readDecompressed(
  c: Context,
  key: string,
  format: Compression,
  range?: ByteRange,
): Promise<ReadableStream<Uint8Array> | null> {
  const k = fullKey(c, key);
  const stored = await withComplete(c, (d) => d.read(k).catch((error) => fail(c, error, key)));
  if (!stored) return null;
  const plain = decompressStream(stored, format, { key, store: c.uri });
  return range ? sliceStream(plain, range) : plain;
}

async function decompressedBytes(c: Context, key: string, format: Compression): Promise<Uint8Array | null> {
  const stream = await readDecompressed(c, key, format);
  return stream && collect(stream).catch((error) => fail(c, error, key));
}

export async function getCompressed<T>(c: Context, key: string, opts: GetOptions<T> | undefined): Promise<T> {
  const format = compressionOf(c, opts, key)!;
  const bytes = await decompressedBytes(c, key, format);
  if (bytes === null) return missing(c, key, opts);
  return attempt(c, () => decodeValue(bytes, codecOf(c, opts)) as T, key);
}

/** `get` then `delete`, the value decompressed (only with a compression: store.ts checks). */
export async function popCompressed<T>(c: Context, key: string, opts: GetOptions<T> | undefined): Promise<T> {
  const format = compressionOf(c, opts, key)!;
  const bytes = await decompressedBytes(c, key, format);
  if (bytes === null) return missing(c, key, opts);
  const value = attempt(c, () => decodeValue(bytes, codecOf(c, opts)) as T, key);
  await c.store.delete(key);
  return value;
}

/** `put` with a compression: the encoded value (or the stream given) goes through the codec into the driver's write. */
export function putCompressed(
  c: Context,
  key: string,
  k: string,
  value: unknown,
  write: WriteOptions,
  opts: PutOptions<unknown> | undefined,
): Promise<void> {
  const format = compressionOf(c, opts, key)!;
  let source: ReadableStream<Uint8Array>;
  if (isStreamLike(value)) source = value instanceof ReadableStream ? value : value.stream();
  else {
    const encoded = attempt(c, () => encodeTextOrBytes(value, codecOf(c, opts), false), key);
    source = bytesToStream(typeof encoded === "string" ? utf8(encoded) : encoded);
  }
  return putStream(c, key, k, compressStream(source, format), write);
}

/** Bytes compressed for a batch; each value's own. */
export function compressAll(
  entries: Array<[string, Uint8Array]>,
  format: Compression,
): Promise<Array<[string, Uint8Array]>> {
  return Promise.all(
    entries.map(async ([k, bytes]): Promise<[string, Uint8Array]> => [k, await compressBytes(bytes, format)]),
  );
}

/** A batch's stored bytes decompressed; `SerializationError` names the key whose bytes are not `format` data. */
export function decompressAll(
  c: Context,
  keys: string[],
  found: Array<Uint8Array | null>,
  format: Compression,
): Promise<Array<Uint8Array | null>> {
  return Promise.all(
    found.map((bytes, i) =>
      bytes === null
        ? null
        : decompressBytes(bytes, format, { key: keys[i], store: c.uri }).catch((error) => fail(c, error, keys[i])),
    ),
  );
}
