/// <reference lib="webworker" />
/**
 * Another context of the page's origin for the watch tests: writes `from-worker/k` to the store of
 * `uri` and answers `put`; on the next message deletes it and answers `deleted`.
 */
import { createStore } from "../../src/index.browser.js";

let store: ReturnType<typeof createStore> | undefined;

self.onmessage = async (event: MessageEvent<{ uri: string }>) => {
  try {
    if (!store) {
      store = createStore(event.data.uri);
      await store.put("from-worker/k", { from: "worker" });
      self.postMessage("put");
    } else {
      await store.delete("from-worker/k");
      await store.close();
      self.postMessage("deleted");
    }
  } catch (error) {
    self.postMessage(`error: ${String(error)}`);
  }
};
