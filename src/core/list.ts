import type { CompleteDriver } from "./complete.js";
import { InvalidArgumentError } from "./errors.js";
import { isReservedKey, joinKey, normalizePrefix } from "./keys.js";
import type { ListOptions } from "./types.js";

type Matcher = (key: string) => boolean;

/** Compiles a glob with picomatch, loaded only when a glob is used (it stays out of small bundles). */
async function compileGlob(glob: string): Promise<Matcher> {
  if (typeof glob !== "string" || glob === "") throw new InvalidArgumentError(`glob must be a non-empty string`);
  const { default: picomatch } = await import("picomatch/posix.js");
  return picomatch(glob, { dot: true });
}

/**
 * Lists store-relative keys: a path prefix, a plain-string exclude prefix and a glob relative
 * to the prefix (SPEC 5). Streams the driver's pages; never holds every key.
 */
export async function* listKeys(d: CompleteDriver, storePrefix: string, opts: ListOptions, uri: string): AsyncGenerator<string> {
  const prefix = normalizePrefix(opts.prefix, uri);
  const base = joinKey(storePrefix, prefix);
  const listPrefix = base === "" ? "" : `${base}/`;
  const storeCut = storePrefix === "" ? 0 : storePrefix.length + 1;
  const globCut = prefix === "" ? 0 : prefix.length + 1;
  const exclude = opts.excludePrefix || undefined;
  const match = opts.glob !== undefined ? await compileGlob(opts.glob) : undefined;
  for await (const full of d.list(listPrefix)) {
    if (!full.startsWith(listPrefix) || full.length === listPrefix.length || isReservedKey(full)) continue;
    const key = full.slice(storeCut);
    if (exclude !== undefined && key.startsWith(exclude)) continue;
    if (match && !match(key.slice(globCut))) continue;
    yield key;
  }
}
