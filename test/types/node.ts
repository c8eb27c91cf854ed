/** Node-only exports, typechecked with the "node" condition (test/node/types.test.ts). */
import { createStore, type RunningServer, serve, smartRead } from "anystore";
import { fsDriver } from "anystore/drivers/fs";

export async function serveAStore(): Promise<void> {
  const running: RunningServer = await serve(createStore({ driver: fsDriver({ root: "./data" }) }), { port: 0 });
  const text: string = await smartRead(`${running.url}greeting`, "r");
  void text;
  await running.close();
}
