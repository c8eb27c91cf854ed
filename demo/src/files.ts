/**
 * A dropped file streams into OPFS (this browser's private file system), then streams from
 * there to the server; both with progress. The size and sha256 come from the stores: the
 * local digest is computed here over the OPFS copy, the server's next to its SQLite copy.
 */
import type { Store } from "../../src/index.browser.js";

export interface FileProgress {
  /** Saving into OPFS, hashing the local copy, uploading, or the server checking its copy. */
  phase: "local" | "hash" | "upload" | "verify";
  loaded: number;
  total: number;
}

export interface StoredFile {
  key: string;
  size: number;
  sha256: string;
  /** The digest the server computed over its copy (HEAD ?checksum=true). */
  serverSha256: string;
}

/** `files/NAME`, with what a key cannot hold replaced (SPEC 5: no `\`, no `..`, no `.anystore`). */
export function fileKey(name: string): string {
  const safe = name
    .replace(/[\\/\0]/g, "_")
    .replace(/^\.+/, "_")
    .trim();
  return `files/${safe || "unnamed"}`;
}

/** Passes bytes through, counting them. */
function counter(onBytes: (loaded: number) => void): TransformStream<Uint8Array, Uint8Array> {
  let loaded = 0;
  return new TransformStream({
    transform(chunk, controller) {
      loaded += chunk.byteLength;
      onBytes(loaded);
      controller.enqueue(chunk);
    },
  });
}

export class FileShelf {
  /** The upload under way; the remote store's `onUploadProgress` reports to it. */
  #uploading: ((loaded: number) => void) | undefined;

  constructor(
    readonly local: Store,
    readonly remote: Store,
  ) {}

  /** For the remote store's `onUploadProgress` option. */
  readonly onUploadProgress = (progress: { loaded: number }) => this.#uploading?.(progress.loaded);

  async add(file: File, onProgress: (p: FileProgress) => void): Promise<StoredFile> {
    const key = fileKey(file.name);
    const total = file.size;
    onProgress({ phase: "local", loaded: 0, total });
    await this.local.put(
      key,
      file.stream().pipeThrough(counter((loaded) => onProgress({ phase: "local", loaded, total }))),
    );
    onProgress({ phase: "hash", loaded: total, total });
    const sha256 = await this.local.checksum(key, "sha256");
    return this.upload(key, total, sha256, onProgress);
  }

  async upload(key: string, total: number, sha256: string, onProgress: (p: FileProgress) => void): Promise<StoredFile> {
    onProgress({ phase: "upload", loaded: 0, total });
    this.#uploading = (loaded) => onProgress({ phase: "upload", loaded, total });
    try {
      await this.remote.put(key, await this.local.open(key, "r"));
    } finally {
      this.#uploading = undefined;
    }
    onProgress({ phase: "verify", loaded: total, total });
    const [info, serverSha256] = await Promise.all([this.remote.info(key), this.remote.checksum(key, "sha256")]);
    return { key, size: info.size, sha256, serverSha256 };
  }
}
