/**
 * Another process for the watch tests of the remote drivers.
 *
 *   node --import tsx test/node/watch-remote-writer.ts <uri> <options json> <op> [<op>...]
 *
 * Ops run in order: `put:k=v`, `delete:k`, `putMany:k1,k2`, `deleteMany:k1,k2`, `stream:k=v`, and
 * `watchOnce:prefix`, which watches, prints `ready` once it listens, prints the first put or delete
 * it sees (`put k`) and ends the watch. Prints `done` after closing the store; the process must
 * then exit by itself (a watch that left a connection or timer behind would keep it alive).
 *
 *   node --import tsx test/node/watch-remote-writer.ts --serve <store uri> <port> [token]
 *
 * serves a store (`serve`) on the port and prints its url; runs until killed.
 */
import { createStore, serve } from "../../src/index.node.js";

const args = process.argv.slice(2);
if (args[0] === "--serve") {
  const [, uri, port, token] = args;
  const server = await serve(createStore(uri!), { port: Number(port), ...(token && { token }) });
  console.log(server.url);
} else {
  const [uri, json, ...ops] = args;
  const store = createStore(uri!, JSON.parse(json ?? "{}"));
  for (const op of ops) {
    const colon = op.indexOf(":");
    const [name, rest] = [op.slice(0, colon), op.slice(colon + 1)];
    const [key = "", value = ""] = rest.split("=");
    if (name === "put") await store.put(key, value);
    else if (name === "delete") await store.delete(key);
    else if (name === "putMany") await store.putMany(rest.split(",").map((k) => [k, k]));
    else if (name === "deleteMany") await store.deleteMany(rest.split(","));
    else if (name === "stream") await store.put(key, new Blob([value]).stream());
    else if (name === "watchOnce") {
      const events = store.watch({ prefix: rest || undefined });
      await events.ready;
      console.log("ready");
      for await (const event of events) {
        if (event.type === "resync") continue;
        console.log(`${event.type} ${event.key}`);
        break;
      }
    } else throw new Error(`unknown op ${op}`);
  }
  await store.close();
  console.log("done");
}
