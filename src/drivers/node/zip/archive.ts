/**
 * The archive as readers see it: one generation of the file (its parsed directory and an open
 * handle that readers share), cached while the file's identity, size and mtime hold. A file
 * that does not parse while a journal is beside it is mid-append in another process, or was
 * left so by a killed writer: it reads as it was before that append (see journal.ts).
 */
import type { Stats } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import { open, stat } from "node:fs/promises";
import type { AnystoreError } from "../../../core/errors.js";
import { isAnystoreError } from "../../../core/errors.js";
import type { Directory } from "./directory.js";
import { emptyDirectory, loadDirectory } from "./directory.js";
import { fileId, readAsSaved, readJournal } from "./journal.js";

/** One generation of the archive file. */
export interface Archive {
  dir: Directory;
  fh: FileHandle | null;
  /** Identity of the file the directory was parsed from; null when the archive does not exist. */
  stamp: string | null;
  /** The directory is the one a journal saved: looked at again on every access until the journal goes. */
  fromJournal: boolean;
  refs: number;
  retired: boolean;
}

/** How often a directory that failed to parse is read again while the file keeps changing under the reader. */
const RELOADS = 20;

export const stampOf = (s: Stats): string => `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}`;
const isMissing = (error: unknown) => ["ENOENT", "ENOTDIR"].includes((error as NodeJS.ErrnoException)?.code ?? "");

export class ArchiveCache {
  #archive: Archive | null = null;
  #loading: { stamp: string | null; promise: Promise<Archive> } | null = null;
  /** Set while this process writes the archive: readers trust the cached directory meanwhile. */
  writing = false;

  constructor(
    readonly path: string,
    readonly wrap: (error: unknown) => AnystoreError,
  ) {}

  /** The archive as it is now: the cached one while its file is unchanged (or while we write it). */
  async current(): Promise<Archive> {
    const cached = this.#archive;
    if (this.writing && cached) return cached;
    const stamp = await stat(this.path).then(stampOf, (error) => {
      if (isMissing(error)) return null;
      throw this.wrap(error);
    });
    if (cached && cached.stamp === stamp && !cached.fromJournal) return cached;
    if (this.#loading?.stamp !== stamp) {
      const promise = this.#load(stamp).then((a) => this.install(a));
      const loading = { stamp, promise };
      this.#loading = loading;
      void promise
        .finally(() => {
          if (this.#loading === loading) this.#loading = null;
        })
        .catch(() => {});
    }
    return this.#loading!.promise;
  }

  /** Makes `a` the current generation; the previous one closes once its readers are done. */
  install(a: Archive): Archive {
    if (this.#archive !== a) this.#retire(this.#archive);
    this.#archive = a;
    return a;
  }

  /** A generation for a file just written by this process. */
  async written(dir: Directory, fh: FileHandle): Promise<Archive> {
    return this.install({ dir, fh, stamp: stampOf(await fh.stat()), fromJournal: false, refs: 0, retired: false });
  }

  hold(a: Archive): Archive {
    a.refs++;
    return a;
  }

  release(a: Archive): void {
    if (--a.refs === 0 && a.retired) void a.fh?.close().catch(() => {});
  }

  close(): void {
    this.#retire(this.#archive);
    this.#archive = null;
  }

  #retire(a: Archive | null): void {
    if (!a) return;
    a.retired = true;
    if (a.refs === 0) void a.fh?.close().catch(() => {});
  }

  async #load(stamp: string | null): Promise<Archive> {
    const generation = (dir: Directory, fh: FileHandle | null, s: Stats | null, fromJournal = false): Archive => ({
      dir,
      fh,
      stamp: s && stampOf(s),
      fromJournal,
      refs: 0,
      retired: false,
    });
    if (stamp === null) return generation(emptyDirectory(), null, null);
    let fh: FileHandle;
    try {
      fh = await open(this.path, "r");
    } catch (error) {
      if (isMissing(error)) return this.#load(null);
      throw this.wrap(error);
    }
    try {
      for (let attempt = 1; ; attempt++) {
        const s = await fh.stat();
        try {
          return generation(await loadDirectory(fh, s.size, this.path), fh, s);
        } catch (error) {
          if (!isAnystoreError(error)) throw error;
          const saved = await readJournal(this.path, fileId(s));
          if (saved) {
            return generation(
              await loadDirectory(fh, saved.size, this.path, readAsSaved(fh, saved, this.path)),
              fh,
              s,
              true,
            );
          }
          // Another process appended while we parsed, and was done (its journal gone) before we
          // looked for the journal: the file changed under us, so it is read again, not corrupt.
          if (attempt >= RELOADS || stampOf(await fh.stat()) === stampOf(s)) throw error;
          await new Promise((resolve) => setTimeout(resolve, attempt * 5));
        }
      }
    } catch (error) {
      await fh.close().catch(() => {});
      throw this.wrap(error);
    }
  }
}
