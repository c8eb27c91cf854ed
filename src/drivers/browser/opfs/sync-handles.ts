/**
 * Synchronous access handles for the opfs driver in dedicated workers: in Chromium, whole and
 * streamed reads through them are faster than `File.arrayBuffer()` and `File.stream()`. A
 * read-only handle blocks writers from moving a new value onto the file, so readers hold one
 * briefly: a whole read for its length, a stream only while it is pulled fast.
 */

/** The parts of the File System Access API that TypeScript's DOM lib lacks. */
export interface SyncHandle {
  read(into: Uint8Array, opts?: { at: number }): number;
  write(data: Uint8Array, opts?: { at: number }): number;
  getSize(): number;
  flush(): void;
  close(): void;
}
export type FileHandle = FileSystemFileHandle & {
  move(dir: FileSystemDirectoryHandle, name: string): Promise<void>;
  createSyncAccessHandle?(opts?: { mode: "readwrite" | "read-only" }): Promise<SyncHandle>;
};

const errorName = (error: unknown) => (error as DOMException)?.name;
/** A sync access handle (ours, briefly, or another context's) holds the file. */
export const isLocked = (error: unknown) => errorName(error) === "NoModificationAllowedError";

/** Streamed reads hand out chunks of this size. */
const CHUNK = 1 << 20;
/** A stream gives its handle back when not pulled for this long, or held this long (writers wait up to 5 s). */
const IDLE_MS = 50;
const HOLD_MS = 1000;

/** A read-only sync handle on `handle`; undefined when another context holds the file. */
async function openReadOnly(handle: FileHandle): Promise<SyncHandle | undefined> {
  try {
    return await handle.createSyncAccessHandle!({ mode: "read-only" });
  } catch (error) {
    if (isLocked(error)) return undefined;
    throw error;
  }
}

/** Reads a whole file through a read-only sync handle; undefined when locked. */
export async function readWhole(handle: FileHandle): Promise<Uint8Array | undefined> {
  const h = await openReadOnly(handle);
  if (!h) return undefined;
  try {
    const out = new Uint8Array(h.getSize());
    h.read(out, { at: 0 });
    return out;
  } finally {
    h.close();
  }
}

/**
 * Streams bytes [start, end) of a file through a read-only sync handle, 1 MiB per chunk;
 * undefined when locked. Between handles the file must stay the same version (size and
 * lastModified): a value replaced mid-read errors the stream, as `File.stream()` does.
 */
export async function streamFile(
  handle: FileHandle,
  start = 0,
  end?: number,
): Promise<ReadableStream<Uint8Array> | undefined> {
  let h = await openReadOnly(handle);
  if (!h) return undefined;
  let version: File;
  try {
    version = await handle.getFile();
  } catch (error) {
    h.close();
    throw error;
  }
  const stop = Math.min(end ?? version.size, version.size);
  let at = Math.min(start, stop);
  let heldSince = performance.now();
  let idle: ReturnType<typeof setTimeout> | undefined;
  const release = () => {
    clearTimeout(idle);
    h?.close();
    h = undefined;
  };
  const reopen = async (): Promise<SyncHandle> => {
    const again = await openReadOnly(handle);
    const now = again && (await handle.getFile().catch(() => undefined));
    if (!again || !now || now.size !== version.size || now.lastModified !== version.lastModified) {
      again?.close();
      throw new DOMException("the file changed while it was read", "NotReadableError");
    }
    heldSince = performance.now();
    return again;
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      clearTimeout(idle);
      try {
        h ??= await reopen();
        const chunk = new Uint8Array(Math.min(CHUNK, stop - at));
        const n = chunk.byteLength > 0 ? h.read(chunk, { at }) : 0;
        at += n;
        if (n > 0) controller.enqueue(n < chunk.byteLength ? chunk.subarray(0, n) : chunk);
        if (n === 0 || at >= stop) {
          release();
          controller.close();
        } else if (performance.now() - heldSince > HOLD_MS) release();
        else idle = setTimeout(release, IDLE_MS);
      } catch (error) {
        release();
        throw error;
      }
    },
    cancel: release,
  });
}
