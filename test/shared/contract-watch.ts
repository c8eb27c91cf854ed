/**
 * Contract cases: `watch` (SPEC 11). Polled drivers run with a small `watchInterval`. No timing is
 * asserted: a case waits for the events it expects with a generous bound and fails without them.
 */
import { describe, expect, it } from "vitest";
import type { WatchEvent, WatchIterator } from "../../src/index.common.js";
import type { Suite } from "./contract.js";

/** How long a case waits for an event before it fails. */
const PATIENCE = 5_000;
/** Milliseconds between listings for polled drivers in tests. */
export const TEST_WATCH_INTERVAL = 50;

const describeEvent = (e: WatchEvent) => (e.type === "resync" ? "resync" : `${e.type} ${e.key}`);

/** The next event, or a failure after `PATIENCE`. */
async function nextEvent(events: WatchIterator, what: string): Promise<IteratorResult<WatchEvent>> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no event within ${PATIENCE} ms while waiting for ${what}`)), PATIENCE);
  });
  try {
    return await Promise.race([events.next(), late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Reads events until `expected` comes; returns every event read (resyncs dropped, which a polled
 * or reconnecting feed may send at any time).
 */
export async function waitFor(events: WatchIterator, expected: WatchEvent): Promise<string[]> {
  const seen: string[] = [];
  const want = describeEvent(expected);
  for (;;) {
    const result = await nextEvent(events, `${want} (seen so far: ${seen.join(", ") || "nothing"})`);
    if (result.done) throw new Error(`the watch ended while waiting for ${want} (seen: ${seen.join(", ")})`);
    if (result.value.type === "resync") continue;
    const got = describeEvent(result.value);
    seen.push(got);
    if (got === want) return seen;
  }
}

/** Resolves to the iterator's next result unless it takes longer than `PATIENCE`. */
function ends(events: WatchIterator): Promise<IteratorResult<WatchEvent>> {
  return nextEvent(events, "the end of the watch");
}

export function watching({ store: make, reopen }: Suite): void {
  describe("watch", () => {
    const watched = async () => make({ watchInterval: TEST_WATCH_INTERVAL });

    it("reports a put and a delete, with keys relative to the store", async () => {
      const store = await watched();
      const events = store.watch();
      await events.ready;
      await store.put("a/b.json", { n: 1 });
      expect(await waitFor(events, { type: "put", key: "a/b.json" })).toEqual(["put a/b.json"]);
      await store.delete("a/b.json");
      expect(await waitFor(events, { type: "delete", key: "a/b.json" })).toEqual(["delete a/b.json"]);
      await events.return?.();
    });

    it("an overwrite is a put again", async () => {
      const store = await watched();
      await store.put("k", "first");
      const events = store.watch();
      await events.ready;
      await store.put("k", "second, longer");
      expect(await waitFor(events, { type: "put", key: "k" })).toEqual(["put k"]);
      await events.return?.();
    });

    it("prefix and glob filter; nothing outside the prefix is reported", async () => {
      const store = await watched();
      const events = store.watch({ prefix: "d", glob: "*.txt" });
      await events.ready;
      for (const key of ["dx.txt", "e/a.txt", "d/a.json", "d/sub/a.txt", "d/a.txt"]) await store.put(key, key);
      const seen = await waitFor(events, { type: "put", key: "d/a.txt" });
      await store.put("d/z.txt", "last");
      seen.push(...(await waitFor(events, { type: "put", key: "d/z.txt" })));
      expect(seen).toEqual(["put d/a.txt", "put d/z.txt"]);
      await events.return?.();
    });

    it("a child watches its own keys, relative to it", async () => {
      const store = await watched();
      const child = store.child("c");
      const events = child.watch();
      await events.ready;
      await store.put("other", 1);
      await store.put("cx", 1);
      await store.put("c/k", 1);
      const seen = await waitFor(events, { type: "put", key: "k" });
      await child.delete("k");
      seen.push(...(await waitFor(events, { type: "delete", key: "k" })));
      expect(seen).toEqual(["put k", "delete k"]);
      await events.return?.();
    });

    it("a store made with a prefix reports keys relative to it", async () => {
      const store = await make({ watchInterval: TEST_WATCH_INTERVAL, prefix: "pre/fix" });
      const events = store.watch();
      await events.ready;
      await store.put("k", 1);
      expect(await waitFor(events, { type: "put", key: "k" })).toEqual(["put k"]);
      await events.return?.();
    });

    it("never reports reserved keys (ttl sidecars and the like)", async () => {
      const store = await watched();
      const events = store.watch();
      await events.ready;
      await store.put("short", 1, { ttl: 3600 });
      const seen = await waitFor(events, { type: "put", key: "short" });
      await store.put("z", 1);
      seen.push(...(await waitFor(events, { type: "put", key: "z" })));
      expect(seen.filter((e) => e.includes(".anystore"))).toEqual([]);
      await events.return?.();
    });

    it("sees the writes of another store instance on the same backend", async (ctx) => {
      const store = await watched();
      const other = await reopen(ctx, store);
      const events = store.watch();
      await events.ready;
      await other.put("from/other", "hello");
      expect(await waitFor(events, { type: "put", key: "from/other" })).toEqual(["put from/other"]);
      await other.delete("from/other");
      expect(await waitFor(events, { type: "delete", key: "from/other" })).toEqual(["delete from/other"]);
      await events.return?.();
    });

    it("break ends the watch; return() and the signal end it too", async () => {
      const store = await watched();
      const events = store.watch();
      await events.ready;
      await store.put("one", 1);
      for await (const event of events) {
        expect(event).toEqual({ type: "put", key: "one" });
        break;
      }
      expect(await ends(events)).toEqual({ done: true, value: undefined });

      const controller = new AbortController();
      const signalled = store.watch({ signal: controller.signal });
      await signalled.ready;
      const pending = signalled.next();
      controller.abort();
      expect(await pending).toEqual({ done: true, value: undefined });

      const aborted = store.watch({ signal: AbortSignal.abort() });
      expect(await ends(aborted)).toEqual({ done: true, value: undefined });
    });

    it("close() ends every watch of the store, its children's too; a new watch works after", async () => {
      const store = await watched();
      const events = store.watch();
      const childEvents = store.child("c").watch();
      await Promise.all([events.ready, childEvents.ready]);
      const pending = events.next();
      await store.close();
      expect(await pending).toEqual({ done: true, value: undefined });
      expect(await ends(childEvents)).toEqual({ done: true, value: undefined });
      const again = store.watch();
      await again.ready;
      await store.put("after", 1);
      expect(await waitFor(again, { type: "put", key: "after" })).toEqual(["put after"]);
      await again.return?.();
    });

    it("a watch that is never read still starts, and return() before ready frees it", async () => {
      const store = await watched();
      const events = store.watch();
      await events.return?.();
      await events.ready;
      expect(await ends(events)).toEqual({ done: true, value: undefined });
    });
  });
}
