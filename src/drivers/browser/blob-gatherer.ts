/**
 * Gathers written chunks into a Blob while holding at most one page in JS memory: the browser's
 * blob store takes each full page (and may keep it on disk). Used by streamed writes that must
 * end in one Blob: IndexedDB values, and HTTP uploads from a browser.
 */

/** The largest page; the first is small, so a short stream never allocates a large one. */
const PAGE = 4 * 1024 * 1024;
const FIRST_PAGE = 64 * 1024;

export interface BlobGatherer {
  add(chunk: Uint8Array): void;
  done(type?: string): Blob;
  clear(): void;
}

export function blobGatherer(): BlobGatherer {
  let parts: Blob[] = [];
  let page = new Uint8Array(0);
  let used = 0;
  let next = FIRST_PAGE;
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
        page = new Uint8Array(Math.max(next, chunk.byteLength));
        next = Math.min(next * 4, PAGE);
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

/**
 * A writable whose chunks gather into a Blob, handed to `commit` on close (an abort drops them).
 * Memory stays bounded: the browser's blob store takes each page, and may keep it on disk.
 */
export function blobWriter(commit: (blob: Blob) => Promise<void>): WritableStream<Uint8Array> {
  const gather = blobGatherer();
  return new WritableStream<Uint8Array>({
    write: (chunk) => gather.add(chunk),
    close: () => commit(gather.done()),
    abort: () => gather.clear(),
  });
}
