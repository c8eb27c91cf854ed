/** `await using` a store, where the project's lib or @types/node has explicit resource management. */
import { createStore } from "anystore";

export async function disposed(): Promise<void> {
  await using store = createStore("memory://");
  await store.put("k", 1);
}
