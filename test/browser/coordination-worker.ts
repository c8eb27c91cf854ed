/// <reference lib="webworker" />
/**
 * A dedicated worker with its own IndexedDB connection, for coordination.test.ts: runs one job
 * of coordination-jobs.ts on `idb://<db>` and posts `{ result }` or `{ error }`.
 */
import { createStore } from "../../src/index.browser.js";
import { holdJob, lockJob, queueJob } from "./coordination-jobs.js";

interface Job {
  mode: "lock" | "queue" | "hold";
  db: string;
  name: string;
  count: number;
}

self.onmessage = async (event: MessageEvent<Job>) => {
  const { mode, db, name, count } = event.data;
  const store = createStore(`idb://${db}`);
  try {
    const result =
      mode === "lock"
        ? await lockJob(store, name, count)
        : mode === "queue"
          ? await queueJob(store, name, count)
          : await holdJob(store);
    self.postMessage({ result });
  } catch (error) {
    self.postMessage({ error: String((error as Error)?.stack ?? error) });
  }
  // A holding worker keeps its store open: the test terminates it mid-item.
  if (mode !== "hold") await store.close();
};
