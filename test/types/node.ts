/** Node-only exports, typechecked with the "node" condition (test/node/types.test.ts). */
import { createStore, type RunningServer, serve, smartRead } from "anystore";
import { fsDriver } from "anystore/drivers/fs";
import { z } from "zod";

export async function serveAStore(): Promise<void> {
  const running: RunningServer = await serve(createStore({ driver: fsDriver({ root: "./data" }) }), { port: 0 });
  const text: string = await smartRead(`${running.url}greeting`, "r");
  void text;
  await running.close();
  // A typed store serves as any store does.
  const typed = await serve(createStore("memory://", { schema: z.object({ a: z.string() }), throwOnMissing: false }));
  await typed.close();
}
