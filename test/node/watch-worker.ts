/**
 * Another process for the watch tests (test/node/watch.test.ts):
 *
 *   node --import tsx test/node/watch-worker.ts <mode> <uri>
 *
 * - `write`: puts `from-child/k`, prints `put`, waits for a line on stdin, deletes it, prints
 *   `deleted` and exits.
 * - `watch`: watches the store three times, ending each watch another way (break, its signal,
 *   `close()`), printing `ready <n>` once each listens and the first event it got; then returns
 *   without `process.exit`: the process ends only if nothing the watches held is left.
 */
import { createInterface } from "node:readline";
import type { WatchEvent } from "../../src/index.node.js";
import { createStore } from "../../src/index.node.js";

const [mode, uri] = process.argv.slice(2);
if (!mode || !uri) throw new Error("usage: watch-worker.ts <write|watch> <uri>");
const store = createStore(uri, { watchInterval: 100 });
const print = (line: string) => process.stdout.write(`${line}\n`);
const show = (e: WatchEvent | undefined) =>
  e === undefined ? "end" : e.type === "resync" ? "resync" : `${e.type} ${e.key}`;

if (mode === "write") {
  const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
  await store.put("from-child/k", "hello");
  print("put");
  await lines.next();
  await store.delete("from-child/k");
  print("deleted");
  await store.close();
  process.stdin.destroy();
} else if (mode === "watch") {
  // 1: break
  const first = store.watch();
  await first.ready;
  print("ready 1");
  for await (const event of first) {
    print(show(event));
    break;
  }
  // 2: the signal
  const controller = new AbortController();
  const second = store.watch({ signal: controller.signal });
  await second.ready;
  print("ready 2");
  const got = await second.next();
  print(show(got.value));
  controller.abort();
  // 3: close()
  const third = store.watch();
  await third.ready;
  print("ready 3");
  print(show((await third.next()).value));
  await store.close();
  print(`after close: ${show((await third.next()).value)}`);
}
