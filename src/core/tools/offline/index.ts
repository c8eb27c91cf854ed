/**
 * Offline first (SPEC 12): `cached` tiers and two-way `sync`. Thin entry points: the logic
 * loads on first use, so an app importing the package root pays nothing for them until it
 * calls them. Bad options throw InvalidArgumentError before anything is read: at once for
 * `cached`, before the first listing for `sync`.
 */

import { InvalidArgumentError } from "../../errors.js";
import { RESERVED_AREA, reservedArea } from "../../keys.js";
import type { Store } from "../../types.js";
import type { AnyStore } from "./bytes.js";
import type { CachedCore } from "./cached.js";
import type {
  CachedOptions,
  SyncAction,
  SyncConflict,
  SyncOptions,
  SyncProgress,
  SyncResolution,
  SyncResult,
} from "./types.js";

export type { CachedOptions, SyncAction, SyncConflict, SyncOptions, SyncProgress, SyncResolution, SyncResult };

/** The methods of `cached` that need its logic; the rest pass straight to `remote`. */
const THROUGH_CORE = [
  "get",
  "put",
  "pop",
  "delete",
  "exists",
  "info",
  "checksum",
  "touch",
  "open",
  "getMany",
  "putMany",
  "deleteMany",
  "sweep",
] as const;

/**
 * A read-through, write-through tier: `get` answers from `local` while its copy is fresh (`ttl`
 * seconds, default forever), else reads `remote` and keeps a copy in `local`; writes and deletes
 * go to `remote` first, then `local`. With `staleIfError` (default true) a `ConnectionError`
 * from `remote` is answered from a stale local copy. Streams, listings and `watch` pass to `remote`.
 * @example
 * const notes = cached(createStore("anystore+https://api.example/notes"), createStore("idb://notes"), { ttl: 60 });
 * await notes.get("today.md"); // from IndexedDB when fresh, else from the server (and kept); offline: IndexedDB
 */
export function cached<T = unknown>(remote: Store<T>, local: Store<T>, options: CachedOptions = {}): Store<T> {
  const { ttl, staleIfError } = options;
  if (ttl !== undefined && !(typeof ttl === "number" && ttl >= 0))
    throw new InvalidArgumentError(`ttl must be a number of seconds >= 0, got ${String(ttl)}`);
  if (staleIfError !== undefined && typeof staleIfError !== "boolean")
    throw new InvalidArgumentError(`staleIfError must be a boolean, got ${String(staleIfError)}`);
  let loaded: Promise<CachedCore> | undefined;
  const core = () =>
    (loaded ??= import("./cached.js").then((m) => new m.CachedCore(remote as AnyStore, local as AnyStore, options)));
  const later =
    (name: (typeof THROUGH_CORE)[number]) =>
    async (...args: unknown[]) =>
      // biome-ignore lint/suspicious/noExplicitAny: each method keeps the Store signature declared below
      ((await core())[name] as any)(...args);
  const store = Object.fromEntries(THROUGH_CORE.map((name) => [name, later(name)])) as Pick<
    Store<T>,
    (typeof THROUGH_CORE)[number]
  >;
  return {
    ...store,
    uri: remote.uri,
    capabilities: () => remote.capabilities(),
    keys: (opts) => remote.keys(opts),
    values: (opts) => remote.values(opts),
    list: (opts) => remote.list(opts),
    stream: (key, opts) => remote.stream(key, opts),
    url: (key, opts) => remote.url(key, opts),
    watch: (opts) => remote.watch(opts),
    child: (prefix) => cached(remote.child(prefix), local.child(prefix), options),
    close: async () => {
      await Promise.all([remote.close(), local.close()]);
    },
    [Symbol.asyncDispose]: async () => {
      await Promise.all([remote.close(), local.close()]);
    },
    // sync's bases for a cached store live with its remote.
    [RESERVED_AREA]: (area: string) => reservedArea(remote, area),
  } as Store<T>;
}

/**
 * Reconciles two stores both ways, key by key, against what each key looked like at the last
 * sync (kept in reserved keys of `a`, `.anystore/sync/`): a change on one side is copied to the
 * other, a deletion on one side is repeated on the other unless that side changed the key (the
 * change wins), and a key changed on both is a conflict (default `keep-both`: `b`'s version at
 * the key, `a`'s at `key (conflict <ISO time>)` on both sides). Values move as raw byte
 * streams; a run cut short by either side failing loses nothing, and the next run finishes it.
 * `live: true` keeps syncing on `watch` events of both sides until `signal` aborts, then resolves.
 * @example
 * const result = await sync(createStore("idb://notes"), createStore("anystore+https://api.example/notes"));
 * console.log(`${result.copiedToA} pulled, ${result.copiedToB} pushed, ${result.conflicts.length} conflicts`);
 */
// biome-ignore lint/suspicious/noExplicitAny: stores of any value type (Store<T> uses T both ways, so Store<unknown> would refuse a Store<Note>)
export async function sync(a: Store<any>, b: Store<any>, options: SyncOptions = {}): Promise<SyncResult> {
  const run = await import("./sync.js");
  run.checkSyncOptions(options);
  if (options.live) return (await import("./live.js")).syncLive(a, b, options);
  return run.syncOnce(a, b, options);
}
