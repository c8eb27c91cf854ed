/** Browser uploads for the http driver: a stream gathered into a Blob, and a PUT that reports progress. */

import type { AnystoreError } from "../../core/errors.js";
import { ConnectionError } from "../../core/errors.js";

/** Chunks are copied into pages of this size, then handed to the browser's blob store (which may keep them on disk). */
const PAGE = 4 * 1024 * 1024;

/** Gathers written chunks into a Blob while holding at most one page in JS memory. */
export function streamToBlob(): { add(chunk: Uint8Array): void; done(type?: string): Blob; clear(): void } {
  let parts: Blob[] = [];
  let page = new Uint8Array(0);
  let used = 0;
  const flush = () => {
    if (used > 0) parts.push(new Blob([page.subarray(0, used)]));
    page = new Uint8Array(0);
    used = 0;
  };
  return {
    add(chunk) {
      if (chunk.byteLength >= PAGE) {
        flush();
        parts.push(new Blob([chunk.slice()]));
        return;
      }
      if (used + chunk.byteLength > page.byteLength) {
        flush();
        page = new Uint8Array(PAGE);
      }
      page.set(chunk, used);
      used += chunk.byteLength;
    },
    done(type) {
      flush();
      const blob = new Blob(parts, type ? { type } : {});
      parts = [];
      return blob;
    },
    clear() {
      parts = [];
      page = new Uint8Array(0);
      used = 0;
    },
  };
}

export interface PutBlobOptions {
  key: string;
  onProgress: (progress: { key: string; loaded: number; total?: number }) => void;
  /** Milliseconds without progress before failing with `ConnectionError`. */
  timeout: number;
  signal?: AbortSignal | undefined;
  fail: (status: number, headers: Headers, body: string) => AnystoreError;
}

function parseHeaders(raw: string): Headers {
  const headers = new Headers();
  for (const line of raw.trim().split(/[\r\n]+/)) {
    const at = line.indexOf(":");
    if (at > 0) headers.append(line.slice(0, at).trim(), line.slice(at + 1).trim());
  }
  return headers;
}

/** PUTs a Blob with XMLHttpRequest, the one browser API that reports upload progress. */
export function putBlob(url: string, blob: Blob, headers: Record<string, string>, o: PutBlobOptions): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const settle = (error?: unknown) => {
      clearTimeout(timer);
      if (error === undefined) resolve();
      else reject(error);
    };
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        xhr.abort();
        settle(new ConnectionError(`${url} made no progress within ${o.timeout} ms`));
      }, o.timeout);
    };
    xhr.open("PUT", url);
    for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
    xhr.upload.onprogress = (event) => {
      arm();
      o.onProgress({ key: o.key, loaded: event.loaded, total: event.lengthComputable ? event.total : blob.size });
    };
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        o.onProgress({ key: o.key, loaded: blob.size, total: blob.size });
        settle();
      } else settle(o.fail(xhr.status, parseHeaders(xhr.getAllResponseHeaders()), String(xhr.responseText ?? "")));
    };
    xhr.onerror = () => settle(new ConnectionError(`cannot reach ${url}`));
    xhr.onabort = () => settle(o.signal?.reason ?? new ConnectionError(`upload to ${url} aborted`));
    o.signal?.addEventListener("abort", () => xhr.abort(), { once: true });
    arm();
    xhr.send(blob);
  });
}
