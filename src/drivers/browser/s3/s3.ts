/**
 * The S3 driver: any S3-compatible object store (AWS, MinIO, R2, s3rver...), signed with
 * aws4fetch over `fetch`. Web APIs only, so it runs in Node, browsers and workers alike.
 */

import { alreadyExists } from "../../../core/already-exists.js";
import type { ByteRange, Driver, DriverInfo, WriteOptions } from "../../../core/driver/contract.js";
import { AlreadyExistsError, AnystoreError, InvalidArgumentError } from "../../../core/errors.js";
import { isReservedKey } from "../../../core/keys.js";
import { guessContentType } from "../../../core/mime.js";
import { mapLimit } from "../../../core/streams/map-limit.js";
import { sliceStream } from "../../../core/streams/slice-stream.js";
import { S3Client } from "./client.js";
import type { S3DriverOptions } from "./config.js";
import { clientConfig, isAws, optionsFromUri, positive, rootOf } from "./config.js";
import { multipartWritable } from "./multipart.js";
import { EXPIRES_HEADER, expiresOf, markerKey, parseMarker, slotStart, TTL_ROOT } from "./ttl.js";
import { elements, text, xmlEncode, xmlSafe } from "./xml.js";

export type { S3DriverOptions };

export const DRIVER_NAME = "s3";

const MiB = 1024 * 1024;

/** Options of `url()`: seconds the presigned URL stays valid (SigV4 allows up to 7 days). */
export interface S3UrlOptions {
  expires: number;
}

/**
 * Stores each key as an object `prefix/key` in a bucket (Python anystore's layout). Streamed
 * writes are multipart uploads with bounded memory; reads stream with native byte ranges; TTL is
 * object metadata plus due-time markers under `prefix/.anystore/ttl/`; `url(key)` presigns a GET.
 * @example
 * const store = createStore({ driver: s3Driver({ bucket: "data", prefix: "reports", endpoint: "http://127.0.0.1:9000" }) });
 * await store.put("2026/summary.json", { total: 3 });
 */
export function s3Driver(opts: S3DriverOptions): Driver & { url(key: string, opts: S3UrlOptions): Promise<string> } {
  const config = clientConfig(opts);
  const client = new S3Client(config);
  const root = rootOf(opts.prefix);
  const partSize = positive("partSize", opts.partSize, 8 * MiB);
  if (partSize < 5 * MiB || partSize > 5 * 1024 * MiB)
    throw new InvalidArgumentError(`partSize must be between 5 MiB and 5 GiB, got ${partSize}`);
  const concurrency = positive("uploadConcurrency", opts.uploadConcurrency, 2);
  const pageSize = Math.min(positive("pageSize", opts.pageSize, 1000), 1000);
  const conditional = opts.conditionalWrites ?? isAws(config.endpoint);
  const full = (key: string) => root + key;

  const drop = async (response: Response) => void (await response.body?.cancel().catch(() => {}));

  /** Deletes an object by its full key; a missing key is fine, a missing bucket is not. */
  const removeFull = async (fullKey: string, key = fullKey) => {
    const response = await client.request("DELETE", client.objectUrl(fullKey), { key });
    if (response.ok) return drop(response);
    const error = await client.failure(response, "DeleteObject", key);
    if (response.status !== 404 || error.s3Code === "NoSuchBucket") throw error;
  };

  /** Hides an expired value: true (and the object and its marker deleted) when `headers` say it has passed. */
  const expired = async (key: string, response: Response): Promise<boolean> => {
    const at = expiresOf(response.headers);
    if (at === null || at > Date.now()) return false;
    await drop(response);
    await Promise.all([removeFull(full(key), key), removeFull(full(markerKey(key, at)), key)]);
    return true;
  };

  /** GET or HEAD of a live object; null when missing or expired. */
  const fetchObject = async (
    method: "GET" | "HEAD",
    key: string,
    headers?: Record<string, string>,
  ): Promise<Response | null> => {
    const response = await client.request(method, client.objectUrl(full(key)), { key, ...(headers && { headers }) });
    if (response.status === 404) {
      const error = await client.failure(response, `${method} object`, key);
      if (error.s3Code === "NoSuchBucket") throw error;
      return null;
    }
    if (!response.ok && response.status !== 416) throw await client.failure(response, `${method} object`, key);
    return (await expired(key, response)) ? null : response;
  };

  const head = (key: string) => fetchObject("HEAD", key);

  const writeHeaders = (key: string, o: WriteOptions, at: number | null): Record<string, string> => {
    const headers: Record<string, string> = { "Content-Type": o.contentType || guessContentType(key) };
    if (at !== null) headers[EXPIRES_HEADER] = String(at);
    return headers;
  };

  /** The check before an `ifNotExists` write (an expired value counts as absent and is removed); returns the header to send too. */
  const refuseExisting = async (key: string, o: WriteOptions): Promise<Record<string, string>> => {
    if (!o.ifNotExists) return {};
    const found = await head(key);
    if (found) throw alreadyExists(key);
    return { "If-None-Match": "*" };
  };

  /** 412 (and AWS's 409 for a concurrent conditional write) mean someone else created the key. */
  const conflict = async (response: Response, key: string): Promise<Error | null> => {
    if (response.status !== 412 && response.status !== 409) return null;
    const error = await client.failure(response, "PUT object", key);
    if (response.status === 409 && error.s3Code !== "ConditionalRequestConflict") return error;
    return alreadyExists(key, { cause: error.cause });
  };

  const putObject = async (key: string, body: Uint8Array, headers: Record<string, string>) => {
    const response = await client.request("PUT", client.objectUrl(full(key)), { body, headers, key });
    if (response.ok) return drop(response);
    throw (await conflict(response, key)) ?? (await client.failure(response, "PUT object", key));
  };

  const putMarker = (key: string, at: number | null) =>
    at === null ? undefined : putObject(markerKey(key, at), new Uint8Array(0), {});

  /**
   * After a create refused at its commit (412): removes the ttl marker it wrote, unless the
   * value that won carries the same expiry (then the marker is the winner's too).
   */
  const forgetMarker = async (key: string, at: number | null) => {
    if (at === null) return;
    const response = await client.request("HEAD", client.objectUrl(full(key)), { key }).catch(() => null);
    if (response) await drop(response);
    if (!response?.ok || expiresOf(response.headers) !== at)
      await removeFull(full(markerKey(key, at)), key).catch(() => {});
  };

  /** Maps a commit's error; a refused create first forgets its marker. */
  const refused = async (error: unknown, key: string, at: number | null): Promise<never> => {
    if (error instanceof AlreadyExistsError) await forgetMarker(key, at);
    throw error;
  };

  /** Pages of ListObjectsV2 (keys and, with a delimiter, folders), following continuation tokens. */
  async function* pages(
    prefix: string,
    delimiter?: string,
  ): AsyncGenerator<{ keys: string[]; folders: string[]; contents: string[] }> {
    let token: string | undefined;
    let after: string | undefined;
    do {
      const query: Record<string, string> = {
        "list-type": "2",
        prefix,
        "max-keys": String(pageSize),
        "encoding-type": "url",
      };
      if (delimiter) query.delimiter = delimiter;
      if (token) query["continuation-token"] = token;
      else if (after) query["start-after"] = after;
      const response = await client.request("GET", client.bucketUrl(query));
      if (!response.ok) throw await client.failure(response, "ListObjectsV2");
      const xml = await response.text();
      // Keys come url-encoded only when the server says so (s3rver ignores encoding-type).
      const encoded = text(xml, "EncodingType") === "url";
      const decode = (s: string) => (encoded ? decodeURIComponent(s.replace(/\+/g, " ")) : s);
      const contents = elements(xml, "Contents");
      const keys = contents.map((c) => decode(text(c, "Key") ?? ""));
      const folders = elements(xml, "CommonPrefixes").map((c) => decode(text(c, "Prefix") ?? ""));
      yield { keys, folders, contents };
      const truncated = text(xml, "IsTruncated") === "true";
      token = truncated ? text(xml, "NextContinuationToken") : undefined;
      // A truncated page without a token (some S3 look-alikes): carry on after its last entry.
      const next = truncated && !token ? [...keys, ...folders].sort().pop() : undefined;
      if (next !== undefined && next === after)
        throw new AnystoreError(`S3 ListObjectsV2 does not advance past ${next}`);
      after = next;
    } while (token || after);
  }

  /** Removes values under `prefix` whose expiry has passed (see ttl.ts); resolves to how many went. */
  const reclaimDue = async (prefix: string): Promise<number> => {
    const now = Date.now();
    const slots = full(TTL_ROOT);
    let removed = 0;
    for await (const { folders } of pages(slots, "/")) {
      for (const folder of folders) {
        if (!(slotStart(folder.slice(slots.length)) <= now)) continue;
        for await (const { keys } of pages(folder + prefix)) {
          const due = keys.filter((marker) => (parseMarker(marker.slice(folder.length))?.at ?? Infinity) <= now);
          const gone = await mapLimit(due, 16, async (marker) => {
            const { key } = parseMarker(marker.slice(folder.length))!;
            const response = await client.request("HEAD", client.objectUrl(full(key)), { key });
            await drop(response);
            const at = response.ok ? expiresOf(response.headers) : null;
            if (at === null || at > now) return false;
            await removeFull(full(key), key);
            return true;
          });
          removed += gone.filter(Boolean).length;
          await deleteFull(due);
        }
      }
    }
    return removed;
  };

  /** DeleteObjects in batches of 1,000 (with the Content-MD5 S3 requires); keys XML cannot carry go one by one. */
  const deleteFull = async (fullKeys: string[]) => {
    const plain = fullKeys.filter(xmlSafe);
    await mapLimit(
      fullKeys.filter((k) => !xmlSafe(k)),
      16,
      (k) => removeFull(k),
    );
    for (let i = 0; i < plain.length; i += 1000) {
      const objects = plain.slice(i, i + 1000).map((k) => `<Object><Key>${xmlEncode(k)}</Key></Object>`);
      const body = new TextEncoder().encode(
        `<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Quiet>true</Quiet>${objects.join("")}</Delete>`,
      );
      const headers = { "Content-Type": "application/xml", "Content-MD5": await md5Base64(body) };
      const response = await client.request("POST", client.bucketUrl({ delete: "" }), { body, headers });
      if (!response.ok) throw await client.failure(response, "DeleteObjects");
      const answer = await response.text();
      const errors = elements(answer, "Error");
      if (errors.length > 0) {
        const first = errors[0]!;
        throw new AnystoreError(
          `S3 DeleteObjects failed for ${errors.length} key(s), first ${text(first, "Key")}: ${text(first, "Code")} ${text(first, "Message") ?? ""}`.trim(),
        );
      }
    }
  };

  const driver = {
    name: DRIVER_NAME,
    capabilities: {
      ttl: true,
      ifNotExists: conditional,
      streams: true,
      ranges: true,
      batch: false,
      paths: false,
      createdAt: false,
    },

    async get(key: string): Promise<Uint8Array | null> {
      const response = await fetchObject("GET", key);
      return response && new Uint8Array(await response.arrayBuffer());
    },

    async put(key: string, value: Uint8Array, o: WriteOptions): Promise<void> {
      const at = o.ttl ? Date.now() + o.ttl * 1000 : null;
      const condition = await refuseExisting(key, o);
      await putMarker(key, at);
      await putObject(key, value, { ...writeHeaders(key, o, at), ...condition }).catch((error) =>
        refused(error, key, at),
      );
    },

    delete: (key: string) => removeFull(full(key), key),

    async has(key: string): Promise<boolean> {
      const response = await head(key);
      return response !== null;
    },

    async info(key: string): Promise<DriverInfo | null> {
      const response = await head(key);
      if (!response) return null;
      const h = response.headers;
      const modified = h.get("last-modified");
      const info: DriverInfo = {
        size: Number(h.get("content-length") ?? 0),
        createdAt: null,
        updatedAt: modified ? new Date(modified) : null,
      };
      const type = h.get("content-type");
      if (type) info.contentType = type;
      const etag = h.get("etag");
      if (etag) info.etag = etag;
      return info;
    },

    async read(key: string, range?: ByteRange): Promise<ReadableStream<Uint8Array> | null> {
      const start = range?.start ?? 0;
      const end = range?.end;
      if (end !== undefined && end <= start) return (await head(key)) ? emptyStream() : null;
      const ranged = start > 0 || end !== undefined;
      const headers = ranged ? { Range: `bytes=${start}-${end === undefined ? "" : end - 1}` } : undefined;
      const response = await fetchObject("GET", key, headers);
      if (!response) return null;
      // 416: the range starts past the end; Blob.slice semantics make that empty.
      if (response.status === 416) {
        await drop(response);
        return (await head(key)) ? emptyStream() : null;
      }
      const body = response.body ?? emptyStream();
      // A server that ignores Range answers 200 with everything: cut it here.
      return ranged && response.status === 200 ? sliceStream(body, { start, ...(end !== undefined && { end }) }) : body;
    },

    async write(key: string, o: WriteOptions): Promise<WritableStream<Uint8Array>> {
      const at = o.ttl ? Date.now() + o.ttl * 1000 : null;
      const condition = await refuseExisting(key, o);
      const headers = writeHeaders(key, o, at);
      return multipartWritable({
        client,
        fullKey: full(key),
        key,
        headers,
        commitHeaders: condition,
        partSize,
        concurrency,
        signal: o.signal,
        beforeCommit: async () => void (await putMarker(key, at)),
        putSmall: (bytes) =>
          putObject(key, bytes, { ...headers, ...condition }).catch((error) => refused(error, key, at)),
        commitError: async (response) => {
          const error = await conflict(response, key);
          if (error instanceof AlreadyExistsError) await forgetMarker(key, at);
          return error;
        },
      });
    },

    async *list(prefix: string): AsyncGenerator<string[]> {
      await reclaimDue(prefix);
      for await (const { keys } of pages(full(prefix))) {
        const page: string[] = [];
        for (const fullKey of keys) {
          const key = fullKey.slice(root.length);
          // Folder placeholders (`a/`) made by consoles are not keys; reserved ones are ours.
          if (key !== "" && !key.endsWith("/") && !isReservedKey(key)) page.push(key);
        }
        yield page;
      }
    },

    // For watch's polling (core/driver/poll-watch.ts): each key with its ETag, size and time, from the listing alone.
    async *listSignatures(prefix: string): AsyncGenerator<[string, string]> {
      await reclaimDue(prefix);
      for await (const { keys, contents } of pages(full(prefix))) {
        for (const [i, fullKey] of keys.entries()) {
          const key = fullKey.slice(root.length);
          const c = contents[i]!;
          if (key !== "" && !key.endsWith("/") && !isReservedKey(key))
            yield [key, `${text(c, "ETag")}|${text(c, "Size")}|${text(c, "LastModified")}`];
        }
      }
    },

    deleteMany: (keys: string[]) => deleteFull(keys.map(full)),

    sweep: () => reclaimDue(""),

    /** A presigned GET URL for the key, valid for `expires` seconds (no I/O; a missing key gives 404 when fetched). */
    async url(key: string, { expires }: S3UrlOptions): Promise<string> {
      if (!Number.isInteger(expires) || expires < 1 || expires > 604_800) {
        throw new InvalidArgumentError(`expires must be whole seconds between 1 and 604800 (7 days), got ${expires}`, {
          key,
        });
      }
      return client.presign(client.objectUrl(full(key)), expires);
    },
  };
  return driver;
}

/** `s3://bucket[/prefix]`; the store's options carry endpoint, region, credentials and the rest. */
export function s3DriverFromUri(uri: string, options: Record<string, unknown>): Driver {
  return s3Driver(optionsFromUri(uri, options));
}

const emptyStream = () => new ReadableStream<Uint8Array>({ start: (c) => c.close() });

async function md5Base64(bytes: Uint8Array): Promise<string> {
  const { md5 } = await import("@noble/hashes/legacy.js");
  return btoa(String.fromCharCode(...md5(bytes)));
}
