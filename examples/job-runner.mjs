#!/usr/bin/env node
/**
 * The README's coordination example: a job runner over Redis. Jobs go into a queue; runners
 * (three here, in one process for the demo; in real life separate processes or machines) take
 * them, each job going to one runner at a time; a lock lets one runner at a time do the
 * housekeeping. Needs Redis on 127.0.0.1:6379 (REDIS_URL to change) and `npm run build`:
 *
 *   npm run build && node examples/job-runner.mjs
 */
import { createStore, isAnystoreError, queue, withLock } from "anystore";

const store = createStore(process.env.REDIS_URL ?? "redis://127.0.0.1:6379/0/job-runner-example");
// A job a runner takes is invisible to the others; without ack (a crash) it comes back after 30 s.
const jobs = queue(store, { prefix: "jobs", visibility: 30 });

for (const image of ["a.png", "b.png", "c.png", "d.png", "e.png", "f.png"]) await jobs.push({ image });

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Takes jobs until stopped, waiting (polling) while the queue is empty. */
async function runner(name, signal) {
  for await (const job of jobs.consume({ signal })) {
    try {
      console.log(`${name}: resizing ${job.value.image} (job ${job.id})`);
      await sleep(50); // the work
      await job.ack(); // done: the job is gone for good
    } catch (error) {
      console.error(`${name}: ${job.value.image} failed: ${error}`);
      await job.nack(); // back in the queue at once, for any runner
    }
  }
}

/** Housekeeping that must never run twice at once: whoever gets the lock does it, the others skip. */
async function compact(name) {
  try {
    await withLock(
      store,
      "locks/compact",
      async (held) => {
        console.log(`${name}: compacting, lock held until ${held.expiresAt.toISOString()} unless renewed`);
        await sleep(100);
      },
      { ttl: 60, wait: false }, // a crashed holder's lock frees itself after 60 s
    );
  } catch (error) {
    if (!isAnystoreError(error, "ALREADY_EXISTS")) throw error;
    console.log(`${name}: another runner is compacting, skipped`);
  }
}

const stop = new AbortController();
const runners = ["runner-1", "runner-2", "runner-3"].map((name) =>
  Promise.all([compact(name), runner(name, stop.signal)]),
);
while ((await jobs.size()) > 0) await sleep(100); // acked jobs leave the queue
stop.abort();
await Promise.all(runners);
console.log("all jobs done");
await store.close();
