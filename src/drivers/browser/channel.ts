/**
 * Change notices between the stores of one origin (SPEC 11), for backends with no change feed of
 * their own (IndexedDB, OPFS): every writer posts the keys it changed on a `BroadcastChannel`
 * named for the backend, once the change is durable; every watch listens on a channel object of
 * its own, so it hears the writers of its page as well as those of other tabs, windows and
 * workers. Keys travel in full (the database's keys, or paths from the OPFS root), so stores on
 * nested prefixes or folders hear each other. Loaded lazily by the drivers (with IndexedDB's
 * first open, with OPFS's first write or watch): an app's first chunk does not carry it.
 */

import type { DriverWatchEvent } from "../../core/driver/contract.js";

/** What a writer posts: the change and the full keys. */
interface Notice {
  t: "put" | "delete";
  k: string[];
}

/** One posting channel per name for the page or worker, open for its lifetime (posting holds nothing else). */
const posting = new Map<string, BroadcastChannel>();

/** Posts a notice; never throws (it follows a write that has succeeded: a context without channels only goes unheard). */
export function postNotice(name: string, t: "put" | "delete", k: string[]): void {
  try {
    let channel = posting.get(name);
    if (!channel) {
      channel = new BroadcastChannel(name);
      posting.set(name, channel);
    }
    channel.postMessage({ t, k } satisfies Notice);
  } catch {
    // No BroadcastChannel here (or one refused in an opaque origin).
  }
}

/**
 * Calls `emit` for every notice of a key under `from` (full), as the driver's key (`from` less
 * `base`, the driver's own part of the full key), until `signal` aborts.
 */
export function listenForNotices(
  name: string,
  base: string,
  from: string,
  emit: (event: DriverWatchEvent) => void,
  signal: AbortSignal,
): void {
  const channel = new BroadcastChannel(name);
  channel.onmessage = (message: MessageEvent<Notice>) => {
    const { t, k } = message.data ?? {};
    if ((t !== "put" && t !== "delete") || !Array.isArray(k)) return;
    for (const key of k)
      if (typeof key === "string" && key.startsWith(from)) emit({ type: t, key: key.slice(base.length) });
  };
  signal.addEventListener("abort", () => channel.close(), { once: true });
}
