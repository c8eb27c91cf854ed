/**
 * The notebook's live link: while the page is online, it follows both stores' `watch` (SPEC 11)
 * and syncs as soon as either side changes.
 * - The server's store (`anystore+http`): its watch is a server-sent event stream, so a note
 *   another user saves reaches this page in well under a second. The client reconnects by itself
 *   when the stream breaks and reports `resync` once the server is back: a sync then catches up.
 *   A watch that cannot start (the server is down) is started again here, with backoff.
 * - This browser's store (IndexedDB): its watch is fed by a `BroadcastChannel`, so a note saved
 *   in another tab is re-rendered here, and a note saved anywhere in this browser is pushed.
 *
 * Syncs never overlap: one at a time in a tab, and one at a time across the tabs of the browser
 * (a Web Lock), since they share one IndexedDB.
 */
import type { Store } from "../../src/index.browser.js";

const LOCK = "anystore-notebook-sync";
const DEBOUNCE_MS = 80;
const MAX_RETRY_MS = 4000;

/** Resolves after `ms`, or at once when the signal aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

/** Runs `fn` holding the tabs' sync lock (where the browser has Web Locks). */
function withTabLock(fn: () => Promise<void>): Promise<void> {
  return navigator.locks ? navigator.locks.request(LOCK, fn) : fn();
}

/**
 * Coalesces sync requests: one run at a time, and one more after it if anything asked meanwhile.
 * A run covers the keys the watches reported (a change costs the same however big the notebook
 * is), or every note after a `resync`, a reconnect, a failed run or a click on Sync.
 */
export class SyncScheduler {
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #keys = new Set<string>();
  #all = false;

  /** `run` syncs `keys` (every note when undefined) and resolves to false if it failed. */
  constructor(readonly run: (keys: string[] | undefined) => Promise<boolean>) {}

  /** A sync of these keys (of every note without) soon: changes come in bursts, one run takes them all. */
  request(keys?: string[]): void {
    if (keys) for (const key of keys) this.#keys.add(key);
    else this.#all = true;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.now(), DEBOUNCE_MS);
  }

  /** A sync now (or right after the one under way); resolves once it is done. */
  now({ all = false } = {}): Promise<void> {
    if (all) this.#all = true;
    clearTimeout(this.#timer);
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = (async () => {
      do {
        this.#again = false;
        const keys = this.#all ? undefined : [...this.#keys];
        this.#all = false;
        this.#keys.clear();
        if (keys?.length === 0) continue;
        let ok = false;
        await withTabLock(async () => {
          ok = await this.run(keys);
        });
        if (!ok) this.#all = true; // what failed is caught up by the next run, whole
      } while (this.#again);
    })().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }
}

export interface LiveLinkOptions {
  local: Store;
  remote: Store;
  /** The keys both watches follow (the notes). */
  prefix: string;
  scheduler: SyncScheduler;
  /** Something in this browser's store changed (this tab, another tab, or a sync): re-render. */
  onLocalChange(): void;
  /** The link started or stopped (the page went online or offline). */
  onLiveChange(live: boolean): void;
}

export class LiveLink {
  #controller: AbortController | undefined;

  constructor(readonly o: LiveLinkOptions) {}

  get live(): boolean {
    return this.#controller !== undefined;
  }

  start(): void {
    if (this.#controller) return;
    const controller = new AbortController();
    this.#controller = controller;
    void this.#followLocal(controller.signal);
    void this.#followServer(controller.signal);
    this.o.onLiveChange(true);
  }

  /** Ends both watches: nothing is left listening (the page went offline or is closing). */
  stop(): void {
    this.#controller?.abort();
    this.#controller = undefined;
    this.o.onLiveChange(false);
  }

  async #followLocal(signal: AbortSignal): Promise<void> {
    try {
      for await (const event of this.o.local.watch({ prefix: this.o.prefix, signal })) {
        this.o.onLocalChange();
        this.o.scheduler.request(event.type === "resync" ? undefined : [event.key]);
      }
    } catch (error) {
      console.warn("stopped following this browser's notes:", error);
    }
  }

  /** Follows the server's notes; a watch that fails (the server is down) starts again with backoff. */
  async #followServer(signal: AbortSignal): Promise<void> {
    for (let attempt = 0; !signal.aborted; attempt++) {
      const events = this.o.remote.watch({ prefix: this.o.prefix, signal });
      await events.ready;
      this.o.scheduler.request(); // what changed while nobody was listening
      try {
        for await (const event of events) {
          attempt = 0;
          // A put or a delete: that key; `resync` (after a reconnect): everything.
          this.o.scheduler.request(event.type === "resync" ? undefined : [event.key]);
        }
      } catch {
        // The server cannot be reached: the sync that was just requested says so on the page.
      }
      await pause(Math.min(MAX_RETRY_MS, 500 * 2 ** attempt), signal);
    }
  }
}
