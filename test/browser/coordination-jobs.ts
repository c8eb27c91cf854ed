/**
 * The work each participant (a store of the page, a dedicated worker) does in the IndexedDB
 * coordination tests; shared by coordination.test.ts and coordination-worker.ts.
 */
import type { Store } from "../../src/index.browser.js";
import { lock, queue } from "../../src/index.browser.js";

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * `contenders` concurrent holders of the lock `L`. While holding it, each appends
 * `start <name>/<i>` to the list at `log` (read, then write back), pauses, and appends
 * `end <name>/<i>` the same way: a second holder inside a turn would interleave its entries
 * or overwrite the list, losing some. Resolves to how many releases found their own lock.
 */
export async function lockJob(store: Store, name: string, contenders: number): Promise<number> {
  const append = async (entry: string) => {
    const log = (await store.get("log", { default: [] })) as string[];
    await store.put("log", [...log, entry]);
  };
  const contend = async (i: number) => {
    const held = await lock(store, "L", { ttl: 20, timeout: 120, pollInterval: 10 });
    await append(`start ${name}/${i}`);
    await pause(Math.random() * 3);
    await append(`end ${name}/${i}`);
    return held.release();
  };
  const released = await Promise.all(Array.from({ length: contenders }, (_, i) => contend(i)));
  return released.filter(Boolean).length;
}

/** Pushes `push` items (`<name>-<i>`), then takes and acks items until the queue is empty; resolves to what it acked. */
export async function queueJob(store: Store, name: string, push: number): Promise<Array<[string, string]>> {
  const items = queue<string>(store, { prefix: "work" });
  for (let i = 0; i < push; i++) await items.push(`${name}-${i}`);
  const acked: Array<[string, string]> = [];
  for (;;) {
    const item = await items.take();
    if (item) {
      await pause(Math.random() * 3);
      await item.ack();
      acked.push([item.id, item.value]);
    } else if ((await items.size()) === 0) return acked;
    else await pause(20);
  }
}

/** Takes the lock `crash` (ttl 1 s) and one item of queue `crash` (visibility 1 s); resolves to both ids, keeping them. */
export async function holdJob(store: Store): Promise<{ token: string; item: string | undefined }> {
  const held = await lock(store, "crash", { ttl: 1, wait: false });
  const item = await queue<string>(store, { prefix: "crash", visibility: 1 }).take();
  return { token: held.token, item: item?.id };
}
