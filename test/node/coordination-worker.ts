/**
 * A coordination client in its own process, for coordination.test.ts, run as
 * `node --import tsx coordination-worker.ts`. It reads one JSON command per stdin line and
 * answers one JSON line on stdout (`{ error }` when a command fails):
 *
 *   { op: "prepare", job }  opens the job's store (kept per uri), loads every module the job
 *                           needs, answers { ready }
 *   { op: "go" }            runs the prepared job, answers its result:
 *     - `lock`:  `contenders` concurrent holders of `key`, each taking the lock once; while
 *                holding it, a holder appends `start <name>` to the shared `log` file, pauses,
 *                appends `end <name>`, then releases. Answers { released }: how many releases
 *                found their own lock.
 *     - `queue`: pushes `push` items (`<name>-<i>`), then takes and acks items until the queue
 *                is empty. Answers { acked: [[id, value], ...] }.
 *     - `hit`:   hits the rate limit on `resource` `hits` times. Answers { counts }.
 *   { op: "crash", job }    takes the lock at `key` (ttl `ttl`) and one item of the queue
 *                           (`visibility`), answers { token, item }, and hangs: the test kills it.
 *
 * Closes its stores and exits when stdin ends.
 */
import { appendFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { Store, StoreOptions } from "../../src/index.node.js";
import { createStore, lock, queue, rateLimit } from "../../src/index.node.js";

export interface Job {
  mode: "lock" | "queue" | "hit";
  uri: string;
  options?: StoreOptions;
  name: string;
  key?: string;
  log?: string;
  contenders?: number;
  ttl?: number;
  prefix?: string;
  visibility?: number;
  push?: number;
  resource?: string;
  hits?: number;
}

type Command = { op: "prepare"; job: Job } | { op: "go" } | { op: "crash"; job: Job };

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const stores = new Map<string, Store>();

async function open(job: Job): Promise<Store> {
  const id = JSON.stringify([job.uri, job.options]); // one uri, many tables (PostgreSQL)
  let store = stores.get(id);
  if (!store) {
    store = createStore(job.uri, job.options);
    stores.set(id, store);
  }
  await store.capabilities(); // connects and loads the driver before the start
  await store.exists("warm-up");
  return store;
}

const queueOf = (store: Store, job: Job) =>
  queue<string>(store, { prefix: job.prefix ?? "queue", visibility: job.visibility ?? 30 });

async function run(store: Store, job: Job): Promise<object> {
  if (job.mode === "lock") {
    const contend = async (i: number) => {
      const held = await lock(store, job.key, { ttl: 20, timeout: 120, pollInterval: 20 });
      appendFileSync(job.log!, `start ${job.name}/${i}\n`);
      await pause(Math.random() * 3);
      appendFileSync(job.log!, `end ${job.name}/${i}\n`);
      return held.release();
    };
    const released = await Promise.all(Array.from({ length: job.contenders! }, (_, i) => contend(i)));
    return { released: released.filter(Boolean).length };
  }
  if (job.mode === "queue") {
    const items = queueOf(store, job);
    for (let i = 0; i < job.push!; i++) await items.push(`${job.name}-${i}`);
    const acked: Array<[string, string]> = [];
    for (;;) {
      const item = await items.take();
      if (item) {
        await pause(Math.random() * 3); // the work: a window in which no other consumer may get the item
        await item.ack();
        acked.push([item.id, item.value]);
      } else if ((await items.size()) === 0) break;
      else await pause(20); // the rest is held by the other consumers
    }
    return { acked };
  }
  const limit = rateLimit(store, job.resource!, { limit: 1000, interval: 6, unit: 10 });
  const counts: number[] = [];
  for (let i = 0; i < job.hits!; i++) counts.push(await limit.hit());
  return { counts };
}

async function main(): Promise<void> {
  let prepared: { store: Store; job: Job } | undefined;
  const answer = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`);
  const handle = async (command: Command): Promise<object> => {
    if (command.op === "prepare") {
      const store = await open(command.job);
      await queueOf(store, command.job).size(); // loads the queue and lock modules
      await rateLimit(store, "warm-up").count(); // and the rate limit's
      prepared = { store, job: command.job };
      return { ready: true };
    }
    if (command.op === "go") return run(prepared!.store, prepared!.job);
    const store = await open(command.job);
    const held = await lock(store, command.job.key, { ttl: command.job.ttl!, wait: false });
    const item = await queueOf(store, command.job).take();
    return { token: held.token, item: item?.id };
  };
  for await (const line of createInterface({ input: process.stdin })) {
    answer(
      await handle(JSON.parse(line) as Command).catch((error) => ({ error: String((error as Error)?.stack ?? error) })),
    );
  }
  await Promise.all([...stores.values()].map((store) => store.close()));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((error) => {
    process.stderr.write(`${String((error as Error)?.stack ?? error)}\n`);
    process.exit(1);
  });
}
