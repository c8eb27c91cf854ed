/**
 * The uri helpers of SPEC 7 (Python's `smart_read`, `smart_write`, `smart_stream`,
 * `smart_open`), runtime-neutral: each runtime entry binds them to its own `createStore`
 * and, in Node, to stdin/stdout for the uri `-`.
 */

import { InvalidArgumentError } from "../errors.js";
import { checkSerialization, encodeValue, isStreamLike } from "../serialize.js";
import { lineSplitter } from "../streams/lines.js";
import { collect } from "../streams/to-bytes.js";
import type { Store, StoreOptions } from "../types.js";
import { URI_SCHEME } from "../uri.js";

/** What a runtime supplies to the smart helpers. */
export interface SmartContext {
  createStore(uri: string, options?: StoreOptions): Store;
  /** Standard input and output for the uri `-` (Node only). */
  stdio?: {
    stdin(): ReadableStream<Uint8Array>;
    stdout(): WritableStream<Uint8Array>;
  };
}

export type ReadMode = "rb" | "r";
export type WriteMode = "wb" | "w";

const HTTP = /^(anystore\+)?https?:\/\//i;

/**
 * Splits a uri into the store it names and a key, at the last `/` (of the path, for http uris,
 * so a query stays with the key). A bare name is a key in the current directory.
 * @example
 * splitUri("s3://bucket/reports/2026.json"); // { store: "s3://bucket/reports", key: "2026.json" }
 */
export function splitUri(uri: string): { store: string; key: string } {
  if (typeof uri !== "string" || uri === "") throw new InvalidArgumentError("a uri must be a non-empty string");
  const scheme = URI_SCHEME.exec(uri)?.[0].length ?? 0;
  let pathEnd = uri.length;
  if (HTTP.test(uri)) {
    const query = uri.slice(scheme).search(/[?#]/);
    if (query !== -1) pathEnd = scheme + query;
  }
  const cut = uri.lastIndexOf("/", pathEnd - 1);
  if (cut < scheme) {
    if (scheme > 0) throw new InvalidArgumentError(`"${uri}" names a store but no key: add /KEY`);
    return { store: ".", key: uri };
  }
  const key = uri.slice(cut + 1);
  if (key === "") throw new InvalidArgumentError(`"${uri}" ends with "/" and names no key`);
  // `file:///x` and `/x` name the root directory itself.
  if (cut === scheme && scheme > 0) return { store: uri.slice(0, cut + 1), key };
  return { store: uri.slice(0, cut) || "/", key };
}

async function withStore<R>(
  ctx: SmartContext,
  uri: string,
  options: StoreOptions | undefined,
  use: (store: Store, key: string) => Promise<R>,
): Promise<R> {
  const { store: storeUri, key } = splitUri(uri);
  const store = ctx.createStore(storeUri, options);
  try {
    return await use(store, key);
  } finally {
    await store.close();
  }
}

function stdio(ctx: SmartContext): NonNullable<SmartContext["stdio"]> {
  if (!ctx.stdio) throw new InvalidArgumentError(`the uri "-" (stdin/stdout) exists only in Node.js`);
  return ctx.stdio;
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** The whole value at `uri`: bytes (`rb`, the default) or text (`r`). */
export async function smartReadWith(
  ctx: SmartContext,
  uri: string,
  mode: ReadMode = "rb",
  options?: StoreOptions,
): Promise<Uint8Array | string> {
  checkReadMode(mode);
  const bytes =
    uri === "-"
      ? await collect(stdio(ctx).stdin())
      : await withStore(ctx, uri, options, async (store, key) => collect(await store.open(key, "r")));
  return mode === "r" ? decoder.decode(bytes) : bytes;
}

/**
 * Writes `data` at `uri`: bytes, strings, Blobs and streams as they are; other values
 * serialized by the store options (`auto`: JSON).
 */
export async function smartWriteWith(
  ctx: SmartContext,
  uri: string,
  data: unknown,
  options?: StoreOptions,
): Promise<void> {
  if (uri === "-") {
    const stdout = stdio(ctx).stdout();
    if (isStreamLike(data)) return (data instanceof ReadableStream ? data : data.stream()).pipeTo(stdout);
    const bytes = encodeValue(data, { serialization: checkSerialization(options?.serialization ?? "auto") });
    const writer = stdout.getWriter();
    await writer.write(bytes);
    return writer.close();
  }
  await withStore(ctx, uri, options, (store, key) => store.put(key, data));
}

/** The value at `uri` line by line (without line endings): `Uint8Array` lines (`rb`) or strings (`r`). */
export function smartStreamWith(
  ctx: SmartContext,
  uri: string,
  mode: ReadMode = "rb",
  options?: StoreOptions,
): ReadableStream<Uint8Array | string> {
  checkReadMode(mode);
  let lines: ReadableStreamDefaultReader<Uint8Array> | undefined;
  return new ReadableStream<Uint8Array | string>({
    async pull(controller) {
      lines ??= ((await smartOpenWith(ctx, uri, "rb", options)) as ReadableStream<Uint8Array>)
        .pipeThrough(lineSplitter())
        .getReader();
      const { done, value } = await lines!.read();
      if (done) return controller.close();
      controller.enqueue(mode === "r" ? decoder.decode(value) : value);
    },
    cancel: (reason) => lines?.cancel(reason),
  });
}

/**
 * A stream over the value at `uri`: readable for `rb` (bytes) and `r` (text), writable for `wb`
 * (bytes) and `w` (text or bytes). A written value appears atomically when the stream closes.
 */
export async function smartOpenWith(
  ctx: SmartContext,
  uri: string,
  mode: ReadMode | WriteMode = "rb",
  options?: StoreOptions,
): Promise<ReadableStream<Uint8Array | string> | WritableStream<Uint8Array | string>> {
  if (mode === "rb" || mode === "r") {
    const bytes =
      uri === "-"
        ? stdio(ctx).stdin()
        : await openClosing(ctx, uri, options, (store, key) => store.open(key, "r"), closingReadable);
    return mode === "r"
      ? bytes.pipeThrough(new TextDecoderStream() as unknown as TransformStream<Uint8Array, string>)
      : bytes;
  }
  if (mode === "wb" || mode === "w") {
    const sink =
      uri === "-"
        ? stdio(ctx).stdout()
        : await openClosing(ctx, uri, options, (store, key) => store.open(key, "w"), closingWritable);
    if (mode === "wb") return sink;
    // Not a TransformStream: its close would resolve before the bytes reached the store.
    const writer = sink.getWriter();
    return new WritableStream<string | Uint8Array>({
      write: (chunk) => writer.write(typeof chunk === "string" ? encoder.encode(chunk) : chunk),
      close: () => writer.close(),
      abort: (reason) => writer.abort(reason),
    });
  }
  throw new InvalidArgumentError(`unknown mode ${JSON.stringify(mode)}: use "rb", "r", "wb" or "w"`);
}

function checkReadMode(mode: string): void {
  if (mode !== "rb" && mode !== "r")
    throw new InvalidArgumentError(`unknown mode ${JSON.stringify(mode)}: use "rb" or "r"`);
}

/** The same bytes; `done` runs once when the stream ends, fails or is cancelled. */
/** A stream of the key a uri names; its store closes when the stream ends (at once if opening fails). */
async function openClosing<S>(
  ctx: SmartContext,
  uri: string,
  options: StoreOptions | undefined,
  open: (store: Store, key: string) => Promise<S>,
  closing: (stream: S, done: () => Promise<void>) => S,
): Promise<S> {
  const { store: storeUri, key } = splitUri(uri);
  const store = ctx.createStore(storeUri, options);
  try {
    return closing(await open(store, key), () => store.close());
  } catch (error) {
    await store.close();
    throw error;
  }
}

function closingReadable(stream: ReadableStream<Uint8Array>, done: () => Promise<void>): ReadableStream<Uint8Array> {
  const reader = stream.getReader();
  let finished = false;
  const finish = async () => {
    if (finished) return;
    finished = true;
    await done().catch(() => {});
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done: end, value } = await reader.read();
        if (end) {
          await finish();
          controller.close();
        } else controller.enqueue(value);
      } catch (error) {
        await finish();
        controller.error(error);
      }
    },
    async cancel(reason) {
      await reader.cancel(reason).catch(() => {});
      await finish();
    },
  });
}

/** The same sink; `done` runs once after it closes or aborts. */
function closingWritable(sink: WritableStream<Uint8Array>, done: () => Promise<void>): WritableStream<Uint8Array> {
  const writer = sink.getWriter();
  return new WritableStream<Uint8Array>({
    write: (chunk) => writer.write(chunk),
    async close() {
      try {
        await writer.close();
      } finally {
        await done().catch(() => {});
      }
    },
    async abort(reason) {
      try {
        await writer.abort(reason);
      } finally {
        await done().catch(() => {});
      }
    },
  });
}

/** `smartRead`'s signature, shared by the runtime entries. */
export interface SmartRead {
  (uri: string, mode?: "rb", options?: StoreOptions): Promise<Uint8Array>;
  (uri: string, mode: "r", options?: StoreOptions): Promise<string>;
}

export type SmartWrite = (uri: string, data: unknown, options?: StoreOptions) => Promise<void>;

export interface SmartStream {
  (uri: string, mode?: "rb", options?: StoreOptions): ReadableStream<Uint8Array>;
  (uri: string, mode: "r", options?: StoreOptions): ReadableStream<string>;
}

export interface SmartOpen {
  (uri: string, mode?: "rb", options?: StoreOptions): Promise<ReadableStream<Uint8Array>>;
  (uri: string, mode: "r", options?: StoreOptions): Promise<ReadableStream<string>>;
  (uri: string, mode: "wb", options?: StoreOptions): Promise<WritableStream<Uint8Array>>;
  (uri: string, mode: "w", options?: StoreOptions): Promise<WritableStream<string | Uint8Array>>;
}
