/**
 * `mirror`: copy every key of one store to another as raw bytes, streaming, with bounded
 * concurrency (SPEC 7). Works between any two stores, in any runtime.
 */

import { AnystoreError, InvalidArgumentError, isAnystoreError } from "../errors.js";
import type { ListOptions, Store } from "../types.js";

export interface MirrorProgress {
  /** The key just handled. */
  key: string;
  /** What happened to it. */
  status: "mirrored" | "skipped" | "failed";
  /** Keys handled so far (mirrored + skipped + failed). */
  done: number;
  mirrored: number;
  skipped: number;
  failed: number;
  /** Bytes copied so far. */
  bytes: number;
  /** The error, for a failed key. */
  error?: unknown;
}

export interface MirrorOptions extends ListOptions {
  /** Copy keys that already exist in the target (else they are skipped). @default false */
  overwrite?: boolean;
  /** Keys copied at once. @default 8 */
  concurrency?: number;
  /** Aborting stops listing, aborts the copies in flight (their targets keep the old value) and rejects. */
  signal?: AbortSignal;
  /** Called after each key. */
  onProgress?: (progress: MirrorProgress) => void;
  /**
   * Stop after this many keys in a row failed with one cause that no further key will escape (a
   * store that cannot be reached, is read-only, or lacks its driver's package), and reject with
   * that cause. 0 never stops. @default 5
   */
  stopAfterFailures?: number;
}

export interface MirrorResult {
  mirrored: number;
  skipped: number;
  failed: number;
  /** Bytes copied. */
  bytes: number;
  /** Milliseconds. */
  took: number;
  /** The first failures (at most 100), for reporting. */
  errors: Array<{ key: string; error: unknown }>;
}

const MAX_ERRORS = 100;
/** Small values wait for a batch (`putMany`) on targets with native batches: one write of many keys costs far less than a write each. */
const SMALL_VALUE = 256 * 1024;
/** A batch is written once it holds this many keys or bytes (a zip target rewrites its directory once per batch). */
const BATCH_KEYS = 1000;
const BATCH_BYTES = 8 * 1024 * 1024;

/** Error codes that say the store, not the key, is the problem: the next key fails the same way. */
const STORE_WIDE = new Set(["CONNECTION", "READ_ONLY", "UNSUPPORTED"]);

/**
 * What a failure shares with others that every later key would meet too, or undefined for a
 * failure of its own key. Connection and read-only failures are one cause per code (their wording
 * varies); an unsupported operation is one cause per message (a value too large for the backend
 * is the key's own trouble, a missing package is everyone's), with the key taken out.
 */
export function sharedCause(error: unknown, key: string): string | undefined {
  if (!isAnystoreError(error) || !STORE_WIDE.has(error.code)) return undefined;
  return error.code === "UNSUPPORTED" ? `${error.code}:${error.message.replaceAll(key, "")}` : error.code;
}

/** The error a stopped mirror rejects with: the cause's own class and code, saying why it stopped. */
function stoppedBy(cause: AnystoreError, run: number, result: MirrorResult): AnystoreError {
  const Kind = cause.constructor as new (message: string, details: object) => AnystoreError;
  const done = `${result.mirrored} mirrored, ${result.skipped} skipped`;
  const message = `${cause.message} (mirror stopped: ${run} keys in a row failed with this; ${done})`;
  const error = new Kind(message, { cause, store: cause.store });
  return error.code === cause.code ? error : new AnystoreError(message, { cause, store: cause.store }, cause.code);
}

/**
 * Copies the keys of `source` (optionally under a prefix, minus an exclude prefix, matching a glob)
 * to `target`, byte for byte: each value is read as a stream (`source.open(key)`); a small one is
 * written with others in one `putMany`, a larger one is piped into `target.open(key, "w")`, so
 * large values pass with bounded memory. Existing target keys (listed once, up front) are
 * skipped unless `overwrite`; a key that fails is counted and the rest go on; an aborted
 * `signal` rejects with its reason.
 * @example
 * const result = await mirror(createStore("./data"), createStore("s3://bucket/backup"), { concurrency: 16 });
 * console.log(`${result.mirrored} copied, ${result.skipped} already there`);
 */
export async function mirror(
  // biome-ignore lint/suspicious/noExplicitAny: a store of any value type (Store<T> uses T both ways, so Store<unknown> would refuse a Store<Note>)
  source: Store<any>,
  // biome-ignore lint/suspicious/noExplicitAny: a store of any value type (Store<T> uses T both ways, so Store<unknown> would refuse a Store<Note>)
  target: Store<any>,
  options: MirrorOptions = {},
): Promise<MirrorResult> {
  const { overwrite = false, concurrency = 8, signal, onProgress, prefix, excludePrefix, glob } = options;
  const { stopAfterFailures = 5 } = options;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new InvalidArgumentError(`concurrency must be a whole number >= 1, got ${String(concurrency)}`);
  }
  signal?.throwIfAborted();
  const started = Date.now();
  const result: MirrorResult = { mirrored: 0, skipped: 0, failed: 0, bytes: 0, took: 0, errors: [] };
  const listOptions: ListOptions = {
    ...(prefix !== undefined && { prefix }),
    ...(excludePrefix !== undefined && { excludePrefix }),
    ...(glob !== undefined && { glob }),
  };
  const existing = overwrite ? undefined : await targetKeys(target, listOptions);
  // Batches only where the target writes one natively (else putMany is a loop of puts anyway).
  const batching = (await target.capabilities()).batch;
  const keys = source.keys(listOptions);
  // One abort listener for the whole run stops every copy in flight (a listener per copy
  // would trip Node's max-listeners warning at concurrency > 10).
  const inFlight = new Set<(reason: unknown) => void>();
  const onAbort = () => {
    for (const stop of inFlight) stop(signal?.reason);
  };
  signal?.addEventListener("abort", onAbort, { once: true });

  // The current run of failures that share a cause, and the error that stopped the mirror.
  let run = { cause: "", length: 0 };
  let stopped: AnystoreError | undefined;
  const track = (key: string, status: MirrorProgress["status"], error: unknown) => {
    const cause = status === "failed" ? sharedCause(error, key) : undefined;
    run = cause === undefined ? { cause: "", length: 0 } : { cause, length: cause === run.cause ? run.length + 1 : 1 };
    if (!stopped && stopAfterFailures > 0 && run.length >= stopAfterFailures) {
      stopped = stoppedBy(error as AnystoreError, run.length, result);
    }
  };

  const report = (key: string, status: MirrorProgress["status"], error?: unknown) => {
    track(key, status, error);
    result[status]++;
    if (status === "failed" && result.errors.length < MAX_ERRORS) result.errors.push({ key, error });
    onProgress?.({
      key,
      status,
      done: result.mirrored + result.skipped + result.failed,
      mirrored: result.mirrored,
      skipped: result.skipped,
      failed: result.failed,
      bytes: result.bytes,
      ...(error !== undefined && { error }),
    });
  };

  /** Small values waiting for their batch. */
  let batch: Array<[string, Uint8Array]> = [];
  let batchBytes = 0;
  const flush = async (): Promise<void> => {
    const entries = batch;
    batch = [];
    batchBytes = 0;
    if (entries.length === 0) return;
    signal?.throwIfAborted();
    try {
      await target.putMany(entries, { serialization: "raw" });
    } catch {
      if (signal?.aborted) throw signal.reason;
      // One at a time, so that only the keys that fail are counted as failed; a run of
      // store-wide failures stops it as it stops the copies.
      for (const entry of entries) {
        if (stopped) break;
        await putOne(entry);
      }
      return;
    }
    for (const [key, bytes] of entries) {
      result.bytes += bytes.byteLength;
      report(key, "mirrored");
    }
  };
  const putOne = async ([key, bytes]: [string, Uint8Array]): Promise<void> => {
    try {
      await target.put(key, bytes, { serialization: "raw" });
      result.bytes += bytes.byteLength;
      report(key, "mirrored");
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      report(key, "failed", error);
    }
  };

  const copy = async (key: string): Promise<void> => {
    if (existing ? existing.has(key) : !overwrite && (await target.exists(key))) return report(key, "skipped");
    let readable: ReadableStream<Uint8Array>;
    try {
      readable = await source.open(key, "r");
    } catch (error) {
      // Gone between listing and reading (deleted, expired): nothing to copy.
      if (isAnystoreError(error, "NOT_FOUND")) return report(key, "skipped");
      throw error;
    }
    // A value that arrives in one chunk is stored with one put: for small values a streamed
    // write (temp file, multipart, APPEND) costs several times the copy itself.
    const reader = readable.getReader();
    let first: ReadableStreamReadResult<Uint8Array>;
    let second: ReadableStreamReadResult<Uint8Array>;
    const stopReading = (reason: unknown) => void reader.cancel(reason).catch(() => {});
    inFlight.add(stopReading);
    try {
      first = await reader.read();
      second = first.done ? first : await reader.read();
    } catch (error) {
      reader.cancel(error).catch(() => {});
      throw error;
    } finally {
      inFlight.delete(stopReading);
    }
    if (second.done) {
      const bytes = first.value ?? new Uint8Array(0);
      signal?.throwIfAborted();
      if (batching && bytes.byteLength <= SMALL_VALUE) {
        batch.push([key, bytes]);
        batchBytes += bytes.byteLength;
        return batch.length >= BATCH_KEYS || batchBytes >= BATCH_BYTES ? flush() : undefined;
      }
      await target.put(key, bytes, { serialization: "raw" });
      result.bytes += bytes.byteLength;
    } else {
      await streamRest(key, reader, [first.value!, second.value]);
    }
    report(key, "mirrored");
  };

  /** Copies a value that spans several chunks through `open("w")`, starting with the chunks already read. */
  const streamRest = async (
    key: string,
    reader: ReadableStreamDefaultReader<Uint8Array>,
    head: Uint8Array[],
  ): Promise<void> => {
    let writable: WritableStream<Uint8Array>;
    try {
      writable = await target.open(key, "w");
    } catch (error) {
      await reader.cancel().catch(() => {});
      throw error;
    }
    const writer = writable.getWriter();
    // On abort a pending read ends (done) and a pending write rejects; the loop then throws.
    const stop = (reason: unknown) => {
      reader.cancel(reason).catch(() => {});
      writer.abort(reason).catch(() => {});
    };
    inFlight.add(stop);
    try {
      for (const chunk of head) {
        result.bytes += chunk.byteLength;
        await writer.write(chunk);
      }
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        result.bytes += value.byteLength;
        await writer.write(value);
      }
      signal?.throwIfAborted();
      await writer.close();
    } catch (error) {
      // Aborting the writer keeps the target's previous value (the write is atomic on close).
      await Promise.all([writer.abort(error).catch(() => {}), reader.cancel(error).catch(() => {})]);
      throw signal?.aborted ? signal.reason : error;
    } finally {
      inFlight.delete(stop);
    }
  };

  const worker = async (): Promise<void> => {
    // Async generators queue concurrent next() calls, so workers can share one listing.
    for (;;) {
      signal?.throwIfAborted();
      if (stopped) return;
      const next = await keys.next();
      if (next.done) return;
      try {
        await copy(next.value);
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        report(next.value, "failed", error);
      }
    }
  };

  // allSettled: on abort or a listing error, wait for the copies in flight to wind down first.
  const settled = await Promise.allSettled(Array.from({ length: concurrency }, worker));
  if (!settled.some((s) => s.status === "rejected")) settled.push(...(await Promise.allSettled([flush()])));
  signal?.removeEventListener("abort", onAbort);
  await keys.return?.(undefined).catch(() => {});
  const failure = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
  if (failure) throw failure.reason;
  if (stopped) throw stopped;
  result.took = Date.now() - started;
  return result;
}

/**
 * The target's keys under the mirror's options, listed once (a `Set` of them), so that no key
 * costs an `exists` round trip; undefined for a target that cannot list (then `exists` it is).
 */
// biome-ignore lint/suspicious/noExplicitAny: a store of any value type, as in mirror()
async function targetKeys(target: Store<any>, listOptions: ListOptions): Promise<Set<string> | undefined> {
  const keys = new Set<string>();
  try {
    for await (const key of target.keys(listOptions)) keys.add(key);
  } catch (error) {
    if (isAnystoreError(error, "UNSUPPORTED")) return undefined;
    throw error;
  }
  return keys;
}
