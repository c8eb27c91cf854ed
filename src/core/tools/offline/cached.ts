/**
 * The logic of `cached(remote, local)` (SPEC 12), loaded on first use (see index.ts): reads
 * through `local`, writes through to `remote` first. Values read come from `local`, decoded by
 * its options, so a cached read and a fresh one decode alike.
 */

import { isAnystoreError } from "../../errors.js";
import type { GetOptions, PutOptions } from "../../types.js";
import type { AnyStore } from "./bytes.js";
import { infoOrNull } from "./bytes.js";
import type { CachedOptions } from "./types.js";

export class CachedCore {
  readonly #remote: AnyStore;
  readonly #local: AnyStore;
  readonly #ttlMs: number | undefined;
  readonly #staleIfError: boolean;

  constructor(remote: AnyStore, local: AnyStore, options: CachedOptions) {
    this.#remote = remote;
    this.#local = local;
    this.#ttlMs = options.ttl === undefined ? undefined : options.ttl * 1000;
    this.#staleIfError = options.staleIfError ?? true;
  }

  /** True when local holds a copy young enough to answer without asking remote. */
  async #fresh(key: string): Promise<boolean> {
    if (this.#ttlMs === undefined) return this.#local.exists(key);
    const info = await infoOrNull(this.#local, key);
    const at = info?.updatedAt ?? info?.createdAt;
    return !!at && Date.now() - at.getTime() < this.#ttlMs;
  }

  /** Runs a remote call; a `ConnectionError` falls back to `stale` when allowed and local has the key. */
  async #orStale<R>(key: string, call: () => Promise<R>, stale: () => Promise<R>): Promise<R> {
    try {
      return await call();
    } catch (error) {
      if (this.#staleIfError && isAnystoreError(error, "CONNECTION") && (await this.#local.exists(key))) return stale();
      throw error;
    }
  }

  async get(key: string, opts?: GetOptions): Promise<unknown> {
    if (this.#ttlMs === undefined) {
      // Fresh forever: one local read answers a hit; only a miss goes on to remote.
      const { default: _, ...strict } = opts ?? {};
      try {
        return await this.#local.get(key, { ...strict, throwOnMissing: true });
      } catch (error) {
        if (!isAnystoreError(error, "NOT_FOUND")) throw error;
      }
    } else if (await this.#fresh(key)) return this.#local.get(key, opts);
    return this.#orStale(
      key,
      async () => {
        await this.#refresh(key);
        return this.#local.get(key, opts);
      },
      () => this.#local.get(key, opts),
    );
  }

  /** Copies remote's bytes into local (or drops local's copy when remote has none). */
  async #refresh(key: string): Promise<void> {
    let readable: ReadableStream<Uint8Array>;
    try {
      readable = await this.#remote.open(key, "r");
    } catch (error) {
      if (isAnystoreError(error, "NOT_FOUND")) return this.#local.delete(key);
      throw error;
    }
    const info = await infoOrNull(this.#remote, key).catch(() => null);
    const writable = await this.#local.open(key, "w", info ? { contentType: info.contentType } : {});
    await readable.pipeTo(writable);
  }

  async exists(key: string): Promise<boolean> {
    if (await this.#fresh(key)) return true;
    return this.#orStale(
      key,
      () => this.#remote.exists(key),
      async () => true,
    );
  }

  info(key: string) {
    return this.#orStale(
      key,
      () => this.#remote.info(key),
      () => this.#local.info(key),
    );
  }

  checksum(key: string, algorithm?: Parameters<AnyStore["checksum"]>[1]) {
    return this.#orStale(
      key,
      () => this.#remote.checksum(key, algorithm),
      () => this.#local.checksum(key, algorithm),
    );
  }

  async put(key: string, value: unknown, opts?: PutOptions): Promise<void> {
    await this.#remote.put(key, value, opts);
    // A stream was consumed by remote: local drops its copy and reads the new value on demand.
    if (value instanceof ReadableStream) await this.#local.delete(key);
    else await this.#local.put(key, value, opts);
  }

  async delete(key: string): Promise<void> {
    await this.#remote.delete(key);
    await this.#local.delete(key);
  }

  async pop(key: string, opts?: GetOptions): Promise<unknown> {
    const value = await this.get(key, opts);
    await this.delete(key);
    return value;
  }

  async touch(key: string, opts?: { ttl?: number }): Promise<Date> {
    const at = await this.#remote.touch(key, opts);
    await this.#local.delete(key);
    return at;
  }

  async getMany(keys: string[], opts?: GetOptions): Promise<Map<string, unknown>> {
    const found = new Map<string, unknown>();
    for (const key of keys) {
      try {
        found.set(key, await this.get(key, { ...opts, throwOnMissing: true }));
      } catch (error) {
        if (!isAnystoreError(error, "NOT_FOUND")) throw error;
      }
    }
    return found;
  }

  async putMany(entries: Iterable<[string, unknown]>, opts?: PutOptions): Promise<void> {
    const list = [...entries];
    await this.#remote.putMany(list, opts);
    await this.#local.putMany(list, opts);
  }

  async deleteMany(keys: string[]): Promise<void> {
    await this.#remote.deleteMany(keys);
    await this.#local.deleteMany(keys);
  }

  /** Opens remote; a writer first drops local's copy, which would be stale once it closes. */
  async open(key: string, mode?: string, arg?: object): Promise<unknown> {
    if (mode === "w" || mode === "wb") await this.#local.delete(key);
    // biome-ignore lint/suspicious/noExplicitAny: open's overloads, passed through as given
    return (this.#remote.open as any)(key, mode, arg);
  }

  async sweep(): Promise<number> {
    const [count] = await Promise.all([this.#remote.sweep(), this.#local.sweep()]);
    return count;
  }
}
