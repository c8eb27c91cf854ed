/// <reference lib="webworker" />
/** A dedicated worker that races creates (`ifNotExists`) of one OPFS key against the page and other workers. */
import { createStore } from "../../src/index.browser.js";
import { racerValue } from "./opfs-race.js";

self.onmessage = async (event: MessageEvent<{ dir: string; key: string; racers: number[]; streamed: boolean }>) => {
  const { dir, key, racers, streamed } = event.data;
  const store = createStore(`opfs://${dir}`);
  const outcomes = await Promise.all(
    racers.map((i) =>
      store.put(key, streamed ? new Blob([racerValue(i)]) : racerValue(i), { ifNotExists: true }).then(
        () => "won",
        (error) => (error as { code?: string })?.code ?? String(error),
      ),
    ),
  );
  await store.close();
  self.postMessage(outcomes);
};
