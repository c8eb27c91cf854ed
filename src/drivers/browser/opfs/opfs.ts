/**
 * Origin Private File System driver (browser window or dedicated worker). Key `a/b.txt` is the
 * file `b.txt` in directory `a` under the store's directory, so the tree matches fs/zip/S3.
 *
 * Invariants: every write goes to a temp file `.anystore-tmp-*` beside the target and is moved
 * onto it when complete, so a key never shows partial data and an aborted write leaves the old
 * value; directories emptied by a delete are removed, so a deleted folder can become a key.
 * TTL: expiries in reserved `.anystore/ttl/...` files (ttl.ts), checked only on stores
 * that use a ttl.
 *
 * Creates (`ifNotExists`) are atomic within the origin where the Web Locks API is there (every
 * tab and worker of the origin sees the same locks): a create checks and moves its temp file
 * into place holding the key's lock exclusively; every other write moves holding it shared, so
 * no write lands between a create's check and its move. Without Web Locks the capability is
 * false and the store emulates.
 */

import { alreadyExists } from "../../../core/already-exists.js";
import type { ByteRange, Driver, DriverInfo, DriverWatchEvent, WriteOptions } from "../../../core/driver/contract.js";
import { AnystoreError, ConflictError, UnsupportedError } from "../../../core/errors.js";
import { RESERVED } from "../../../core/keys.js";
import { type FileHandle, isLocked, readWhole, streamFile } from "./sync-handles.js";
import { ttlSidecars, withTtl } from "./ttl.js";

export const DRIVER_NAME = "opfs";

export interface OpfsDriverOptions {
  /** A `/`-separated directory under the origin's private file system root; created on first use. @default "" (the root) */
  dir?: string;
  /** Write through synchronous access handles where the runtime has them (dedicated workers), which is faster for large values. @default true */
  syncAccess?: boolean;
}

type DirHandle = FileSystemDirectoryHandle & { entries(): AsyncIterableIterator<[string, FileHandle | DirHandle]> };

const TEMP = `${RESERVED}-tmp-`;
/** The change notices of this origin's OPFS (channel.ts). */
const CHANNEL = "anystore:opfs";
const channel = () => import("../channel.js");
const errorName = (error: unknown) => (error as DOMException)?.name;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const isMissing = (error: unknown) => errorName(error) === "NotFoundError" || errorName(error) === "TypeMismatchError";
let tempCounter = 0;
const tempName = () =>
  `${TEMP}${Date.now().toString(36)}-${(tempCounter++).toString(36)}-${Math.random().toString(36).slice(2, 8)}`;

function wrap(error: unknown, key?: string): unknown {
  if (error instanceof AnystoreError) return error;
  const name = errorName(error);
  const message = error instanceof Error ? error.message : String(error);
  const why =
    name === "QuotaExceededError"
      ? "OPFS quota exceeded (free space or ask navigator.storage.persist())"
      : `OPFS failed: ${message}`;
  return new AnystoreError(why, { key, cause: error });
}

/** Walks down `parts` from `dir`; null if a part is missing or a file. With `create`, a file in the way is a ConflictError. */
async function walk(dir: DirHandle, parts: string[], create: boolean, key: string): Promise<DirHandle[] | null> {
  const chain = [dir];
  for (const part of parts) {
    try {
      chain.push((await chain[chain.length - 1]!.getDirectoryHandle(part, { create })) as DirHandle);
    } catch (error) {
      if (create && errorName(error) === "TypeMismatchError") {
        throw new ConflictError(`cannot write ${key}: a parent of it is a key`, { key, cause: error });
      }
      if (isMissing(error)) return null;
      throw wrap(error, key);
    }
  }
  return chain;
}

/** Removes the now-empty directories at the end of `chain` (stops at the first non-empty one). */
async function prune(chain: DirHandle[], parts: string[]): Promise<void> {
  for (let i = parts.length - 1; i >= 0; i--) {
    try {
      await chain[i]!.removeEntry(parts[i]!);
    } catch {
      return; // not empty (InvalidModificationError), or already gone
    }
  }
}

/** True when `dir` holds no entries. */
async function isEmpty(dir: DirHandle): Promise<boolean> {
  for await (const _ of dir.entries()) return false;
  return true;
}

/**
 * Stores each key as a file in the Origin Private File System. Streams in (bounded memory;
 * atomic on close) and out (`File.stream()`), serves ranges by `slice`, lists directories lazily.
 * In a dedicated worker, writes use synchronous access handles.
 * @example
 * const store = createStore({ driver: opfsDriver({ dir: "media" }) });
 * await store.put("videos/intro.mp4", file); // a File or Blob streams in
 */
export function opfsDriver(opts: OpfsDriverOptions = {}): Driver {
  if (typeof navigator === "undefined" || !navigator.storage?.getDirectory) {
    throw new UnsupportedError("the Origin Private File System is not available here: use idb:// or memory://");
  }
  const dirParts = (opts.dir ?? "").split("/").filter((s) => s !== "" && s !== ".");
  const sync =
    (opts.syncAccess ?? true) &&
    typeof FileSystemFileHandle !== "undefined" &&
    "createSyncAccessHandle" in FileSystemFileHandle.prototype;
  /** Every store on this origin's OPFS, in any tab or worker, hears of each write here (channel.ts), with paths from the OPFS root. */
  const base = dirParts.length > 0 ? `${dirParts.join("/")}/` : "";
  // Never fails the write it follows (a chunk that cannot load offline costs the notice only); sidecars are not news.
  const notify = (type: "put" | "delete", key: string) =>
    key.startsWith(RESERVED) ||
    channel().then(
      (m) => m.postNotice(CHANNEL, type, [base + key]),
      () => {},
    );
  let rootPromise: Promise<DirHandle> | undefined;
  const root = () =>
    (rootPromise ??= (async () => {
      const top = (await navigator.storage.getDirectory()) as DirHandle;
      const chain = await walk(top, dirParts, true, opts.dir ?? "");
      return chain![chain!.length - 1]!;
    })().catch((error) => {
      rootPromise = undefined;
      throw wrap(error);
    }));

  const locks = typeof navigator.locks?.request === "function" ? navigator.locks : undefined;
  /**
   * Moves a written temp file onto the key (`commit`) holding the key's lock (see the top):
   * for a create, only if the key is absent (an expired value counts as absent).
   */
  const place = (
    key: string,
    commit: () => Promise<void>,
    discard: () => Promise<void>,
    o: WriteOptions | undefined,
  ) => {
    const create = !!o?.ifNotExists;
    const step = async () => {
      if (create && !(await ttl.expired(key)) && (await fileOf(key))) {
        await discard();
        throw alreadyExists(key);
      }
      await commit();
    };
    const name = `anystore-opfs:${[...dirParts, key].join("/")}`;
    return locks ? locks.request(name, { mode: create ? "exclusive" : "shared" }, step) : step();
  };

  const split = (key: string) => {
    const parts = key.split("/");
    return { parents: parts.slice(0, -1), name: parts[parts.length - 1]! };
  };

  /** The file handle of a key, or null when missing (or a folder). */
  const fileOf = async (key: string): Promise<FileHandle | null> => {
    const { parents, name } = split(key);
    const chain = await walk(await root(), parents, false, key);
    if (!chain) return null;
    try {
      return (await chain[chain.length - 1]!.getFileHandle(name)) as FileHandle;
    } catch (error) {
      if (isMissing(error)) return null;
      throw wrap(error, key);
    }
  };

  const fileData = async (key: string): Promise<File | null> => {
    const handle = await fileOf(key);
    try {
      return handle && (await handle.getFile());
    } catch (error) {
      if (isMissing(error)) return null;
      throw wrap(error, key);
    }
  };

  /**
   * A fresh temp file in the key's directory, and `commit` to move it onto the key (or `discard`).
   * A folder named like the key is a ConflictError, unless it is empty (then it is replaced).
   */
  const prepare = async (
    key: string,
    again = false,
  ): Promise<{ temp: FileHandle; commit: () => Promise<void>; discard: () => Promise<void> }> => {
    const { parents, name } = split(key);
    const chain = (await walk(await root(), parents, true, key))!;
    const dir = chain[chain.length - 1]!;
    let temp: FileHandle;
    try {
      temp = (await dir.getFileHandle(tempName(), { create: true })) as FileHandle;
    } catch (error) {
      // A concurrent delete pruned the folder we just walked: walk (and create) once more.
      if (errorName(error) === "NotFoundError" && !again) return prepare(key, true);
      throw wrap(error, key);
    }
    const discard = async () => {
      await dir.removeEntry(temp.name).catch(() => {});
      await prune(chain, parents);
    };
    const commit = async () => {
      try {
        // A worker reading the key holds a read-only handle for the length of one read: wait it out (bounded).
        for (let waited = 0; ; waited += 20) {
          try {
            await temp.move(dir, name);
            break;
          } catch (error) {
            if (!isLocked(error) || waited >= 5000) throw error;
            await pause(20);
          }
        }
      } catch (error) {
        const existing = (await dir.getDirectoryHandle(name).catch(() => null)) as DirHandle | null;
        if (!existing) {
          await discard();
          throw wrap(error, key);
        }
        if (!(await isEmpty(existing))) {
          await discard();
          throw new ConflictError(`cannot write ${key}: it is a folder of other keys`, { key });
        }
        await dir.removeEntry(name).catch(() => {});
        await temp.move(dir, name).catch(async (again) => {
          await discard();
          throw wrap(again, key);
        });
      }
    };
    return { temp, commit, discard };
  };

  /** Writes `chunks` to the temp file through a sync access handle (worker) or a writable (window). */
  const sink = async (temp: FileHandle) => {
    if (sync && temp.createSyncAccessHandle) {
      const handle = await temp.createSyncAccessHandle();
      let at = 0;
      return {
        write: async (chunk: Uint8Array) => {
          at += handle.write(chunk, { at });
        },
        close: async () => {
          handle.flush();
          handle.close();
        },
        abort: async () => handle.close(),
      };
    }
    const writable = await temp.createWritable();
    return {
      write: (chunk: Uint8Array) => writable.write(chunk as Uint8Array<ArrayBuffer>),
      close: () => writable.close(),
      abort: () => writable.abort(),
    };
  };

  const files = {
    name: DRIVER_NAME,
    capabilities: { streams: true, ranges: true, paths: true, ifNotExists: !!locks, watch: true },
    async get(key: string) {
      if (sync) {
        const handle = await fileOf(key);
        if (!handle) return null;
        const bytes = await readWhole(handle).catch((error) =>
          isMissing(error) ? null : Promise.reject(wrap(error, key)),
        );
        if (bytes !== undefined) return bytes;
      }
      const file = await fileData(key);
      return file && new Uint8Array(await file.arrayBuffer());
    },
    async put(key: string, value: Uint8Array, o?: WriteOptions) {
      const { temp, commit, discard } = await prepare(key);
      try {
        const out = await sink(temp);
        try {
          await out.write(value);
          await out.close();
        } catch (error) {
          await out.abort().catch(() => {});
          throw error;
        }
      } catch (error) {
        await discard();
        throw wrap(error, key);
      }
      await place(key, commit, discard, o);
      await notify("put", key);
    },
    async delete(key: string) {
      const { parents, name } = split(key);
      const chain = await walk(await root(), parents, false, key);
      if (!chain) return;
      try {
        await chain[chain.length - 1]!.getFileHandle(name);
      } catch (error) {
        if (isMissing(error)) return; // missing, or a folder: not a key
        throw wrap(error, key);
      }
      await chain[chain.length - 1]!.removeEntry(name).catch((error) => {
        if (errorName(error) !== "NotFoundError") throw wrap(error, key);
      });
      await notify("delete", key);
      await prune(chain, parents);
    },
    async has(key: string) {
      return (await fileOf(key)) !== null;
    },
    async info(key: string): Promise<DriverInfo | null> {
      const file = await fileData(key);
      return file && { size: file.size, createdAt: null, updatedAt: new Date(file.lastModified) };
    },
    async *list(prefix: string) {
      const parts = prefix.split("/").filter((s) => s !== "");
      const chain = await walk(await root(), parts, false, prefix);
      if (!chain) return;
      // Reserved entries are skipped unless the caller asks for them (the core's ttl sweep lists `.anystore/ttl/`).
      const reserved = prefix.startsWith(RESERVED);
      // A page per folder: its files, then its subfolders' pages.
      async function* descend(dir: DirHandle, path: string): AsyncGenerator<string[]> {
        const files: string[] = [];
        const folders: Array<[DirHandle, string]> = [];
        try {
          for await (const [name, handle] of dir.entries()) {
            if (name.startsWith(TEMP) || (!reserved && name.startsWith(RESERVED))) continue;
            if (handle.kind === "file") files.push(path + name);
            else folders.push([handle as DirHandle, `${path}${name}/`]);
          }
        } catch (error) {
          if (!isMissing(error)) throw wrap(error); // else the folder went away while listed: its keys are gone
        }
        if (files.length > 0) yield files;
        for (const [folder, at] of folders) yield* descend(folder, at);
      }
      yield* descend(chain[chain.length - 1]!, prefix);
    },
    async watch(prefix: string, emit: (event: DriverWatchEvent) => void, signal: AbortSignal) {
      (await channel()).listenForNotices(CHANNEL, base, base + prefix, emit, signal);
    },
    async read(key: string, range?: ByteRange) {
      if (sync) {
        const handle = await fileOf(key);
        if (!handle) return null;
        const stream = await streamFile(handle, range?.start, range?.end).catch((error) =>
          isMissing(error) ? null : Promise.reject(wrap(error, key)),
        );
        if (stream !== undefined) return stream;
      }
      const file = await fileData(key);
      if (!file) return null;
      return (range ? file.slice(range.start ?? 0, range.end ?? file.size) : file).stream();
    },
    async write(key: string, o: WriteOptions) {
      const { temp, commit, discard } = await prepare(key);
      let out: Awaited<ReturnType<typeof sink>>;
      try {
        out = await sink(temp);
      } catch (error) {
        await discard();
        throw wrap(error, key);
      }
      const fail = async (error: unknown) => {
        await out.abort().catch(() => {});
        await discard();
        throw wrap(error, key);
      };
      return new WritableStream<Uint8Array>({
        write: (chunk) => out.write(chunk).catch(fail),
        close: async () => {
          await out.close().catch(fail);
          await place(key, commit, discard, o);
          await notify("put", key);
        },
        abort: async () => {
          await out.abort().catch(() => {});
          await discard();
        },
      });
    },
  };
  const ttl = ttlSidecars({
    get: files.get,
    put: files.put,
    delete: files.delete,
    list: files.list,
    hasFolder: async (path) => (await walk(await root(), path.split("/"), false, path)) !== null,
  });
  return withTtl(files, ttl);
}

/** The factory the uri registry calls for `opfs://[dir]`. */
export function opfsDriverFromUri(uri: string, options: Record<string, unknown> = {}): Driver {
  const dir = decodeURIComponent(uri.replace(/^opfs:\/\//i, ""));
  const driverOpts: OpfsDriverOptions = { dir };
  if (typeof options.syncAccess === "boolean") driverOpts.syncAccess = options.syncAccess;
  return opfsDriver(driverOpts);
}
