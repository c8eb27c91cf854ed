/**
 * Streamed writes to S3: bytes gather in part-sized buffers; a value that fits in one part is a
 * single PUT on close, a larger one a multipart upload (started when the second part begins)
 * with a few parts in flight. Memory stays at (concurrency + 1) part buffers, reused. On any
 * failure, `abort()` or an aborted signal, in-flight parts are cancelled and the upload is
 * aborted, so no parts are left behind (and the old value stays).
 */
import { AnystoreError } from "../../../core/errors.js";
import type { S3Client } from "./client.js";
import { errorFrom } from "./client.js";
import { text, xmlEncode } from "./xml.js";

/** S3 allows at most 10,000 parts per upload. */
const MAX_PARTS = 10_000;

export interface MultipartTarget {
  client: S3Client;
  /** The object key, store root included. */
  fullKey: string;
  /** The key, for errors. */
  key: string;
  /** Headers of the new object: Content-Type, metadata. */
  headers: Record<string, string>;
  /** Extra headers for the request that makes the value visible (If-None-Match). */
  commitHeaders: Record<string, string>;
  partSize: number;
  concurrency: number;
  signal?: AbortSignal | undefined;
  /** Runs just before the value becomes visible (the ttl marker goes first). */
  beforeCommit(): Promise<void>;
  /** Writes a value that fit in one part with one PUT. */
  putSmall(bytes: Uint8Array): Promise<void>;
  /** Maps the response of the committing request to an error (412 -> AlreadyExistsError), or null when it is not special. */
  commitError(response: Response): Promise<Error | null>;
}

export function multipartWritable(t: MultipartTarget): WritableStream<Uint8Array> {
  const { client, fullKey, key } = t;
  const pool: Uint8Array[] = [];
  const take = () => pool.pop() ?? new Uint8Array(t.partSize);
  let buffer = take();
  let filled = 0;
  let partCount = 0;
  const etags: string[] = [];
  const inflight = new Set<Promise<void>>();
  const cancelParts = new AbortController();
  let failure: unknown;
  let starting: Promise<string> | undefined;
  let aborting: Promise<void> | undefined;

  const initiate = async (): Promise<string> => {
    // Not cancellable: an upload created server-side must be known, so it can be aborted.
    const response = await client.request("POST", client.objectUrl(fullKey, { uploads: "" }), {
      headers: t.headers,
      key,
    });
    if (!response.ok) throw await client.failure(response, "CreateMultipartUpload", key);
    const uploadId = text(await response.text(), "UploadId");
    if (!uploadId) throw new AnystoreError(`S3 CreateMultipartUpload returned no UploadId`, { key });
    return uploadId;
  };

  const uploadPart = async (n: number, bytes: Uint8Array, owner: Uint8Array) => {
    starting ??= initiate();
    const uploadId = await starting;
    const url = client.objectUrl(fullKey, { partNumber: String(n), uploadId });
    const response = await client.request("PUT", url, { body: bytes, key, signal: cancelParts.signal });
    if (!response.ok) throw await client.failure(response, `UploadPart ${n}`, key);
    await response.body?.cancel();
    const etag = response.headers.get("etag");
    if (!etag) throw new AnystoreError(`S3 UploadPart ${n} returned no ETag`, { key });
    etags[n - 1] = etag;
    pool.push(owner);
  };

  const launch = (bytes: Uint8Array, owner: Uint8Array) => {
    const n = ++partCount;
    if (n > MAX_PARTS) {
      throw new AnystoreError(
        `value too large for S3 parts of ${t.partSize} bytes (at most ${MAX_PARTS} parts): raise partSize`,
        { key },
      );
    }
    const job: Promise<void> = uploadPart(n, bytes, owner)
      .catch((error) => {
        failure ??= error;
      })
      .finally(() => inflight.delete(job));
    inflight.add(job);
  };

  const check = () => {
    if (failure !== undefined) throw failure;
  };

  const settle = async () => {
    while (inflight.size > 0) await Promise.race(inflight);
  };

  const abortUpload = (): Promise<void> =>
    (aborting ??= (async () => {
      cancelParts.abort();
      await settle();
      const uploadId = await starting?.catch(() => undefined);
      if (uploadId === undefined) return;
      const response = await client
        .request("DELETE", client.objectUrl(fullKey, { uploadId }), { key })
        .catch(() => null);
      await response?.body?.cancel().catch(() => {});
    })());

  const fail = async (error: unknown): Promise<never> => {
    failure ??= error;
    await abortUpload();
    throw failure;
  };

  const onSignal = () => void fail(t.signal?.reason ?? new AnystoreError("write aborted", { key })).catch(() => {});
  t.signal?.addEventListener("abort", onSignal, { once: true });
  const done = () => t.signal?.removeEventListener("abort", onSignal);

  const complete = async () => {
    const uploadId = await starting!;
    const parts = etags.map(
      (etag, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>${xmlEncode(etag)}</ETag></Part>`,
    );
    const body = `<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${parts.join("")}</CompleteMultipartUpload>`;
    const headers = { "Content-Type": "application/xml", ...t.commitHeaders };
    const response = await client.request("POST", client.objectUrl(fullKey, { uploadId }), {
      body: new TextEncoder().encode(body),
      headers,
      key,
    });
    if (!response.ok)
      throw (await t.commitError(response)) ?? (await client.failure(response, "CompleteMultipartUpload", key));
    // S3 may answer 200 and report the failure in the body.
    const answer = await response.text();
    if (/<Error[\s>]/.test(answer))
      throw errorFrom(response.status, answer, response.headers, "CompleteMultipartUpload", key);
  };

  return new WritableStream<Uint8Array>({
    async write(chunk) {
      try {
        check();
        let offset = 0;
        while (offset < chunk.byteLength) {
          // A full buffer is sent only once more bytes come, so the last part is never empty
          // and a value of exactly one part stays a single PUT.
          if (filled === t.partSize) {
            launch(buffer, buffer);
            buffer = take();
            filled = 0;
            while (inflight.size >= t.concurrency) await Promise.race(inflight);
            check();
          }
          const n = Math.min(t.partSize - filled, chunk.byteLength - offset);
          buffer.set(chunk.subarray(offset, offset + n), filled);
          filled += n;
          offset += n;
        }
      } catch (error) {
        await fail(error);
      }
    },
    async close() {
      try {
        check();
        if (partCount === 0) {
          await t.beforeCommit();
          await t.putSmall(buffer.subarray(0, filled));
          return;
        }
        launch(buffer.subarray(0, filled), buffer);
        await settle();
        check();
        await t.beforeCommit();
        await complete();
      } catch (error) {
        await fail(error);
      } finally {
        done();
        pool.length = 0;
      }
    },
    async abort(reason) {
      failure ??= reason ?? new AnystoreError("write aborted", { key });
      await abortUpload();
      done();
      pool.length = 0;
    },
  });
}
