/**
 * Change notices between the stores of one origin (SPEC 11), for backends with no change feed of
 * their own (IndexedDB, OPFS): every writer posts the keys it changed on a `BroadcastChannel`
 * named for the backend, once the change is durable; every watch listens on a channel object of
 * its own, so it hears the writers of its page as well as those of other tabs, windows and
 * workers. Keys travel in full (the database's keys, or paths from the OPFS root), so stores on
 * nested prefixes or folders hear each other. The listening half is in channel-listen.ts,
 * loaded by the first watch.
 */

/** What a writer posts: the change and the full keys. */
export interface Notice {
  t: "put" | "delete";
  k: string[];
}

/** The posting side of one driver: the channel opens on its first write. */
export function noticeBoard(name: string): {
  post(type: "put" | "delete", keys: string[]): void;
  close(): void;
} {
  let channel: BroadcastChannel | undefined;
  return {
    post(t, k) {
      if (typeof BroadcastChannel !== "function") return;
      channel ??= new BroadcastChannel(name);
      channel.postMessage({ t, k });
    },
    close() {
      channel?.close();
      channel = undefined;
    },
  };
}
