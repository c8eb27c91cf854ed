/** A browser project (no "node" condition): Node-only exports must not typecheck (test/node/types.test.ts). */
// @ts-expect-error `serve` is Node-only: a browser bundle could not load it
import { createStore, serve } from "anystore";
import { indexeddbDriver } from "anystore/drivers/indexeddb";
import { opfsDriver } from "anystore/drivers/opfs";

export async function browserStores(): Promise<void> {
  const notes = createStore({ driver: indexeddbDriver({ name: "app" }) });
  const files = createStore({ driver: opfsDriver({}), serialization: "raw" });
  const bytes: Uint8Array = await files.get("a");
  void [notes, bytes, serve];
}
