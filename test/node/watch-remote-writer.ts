/**
 * A writer in its own process, for the watch tests of the remote drivers: another process's store
 * makes the changes a watch must see.
 *
 *   node --import tsx test/node/watch-remote-writer.ts <uri> <options json> <op> [<op>...]
 *
 * Ops run in order: `put:k=v`, `delete:k`, `putMany:k1,k2`, `deleteMany:k1,k2`, `stream:k=v`.
 * Prints `done` after closing the store.
 */
import { createStore } from "../../src/index.node.js";

const [uri, json, ...ops] = process.argv.slice(2);
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
  else throw new Error(`unknown op ${op}`);
}
await store.close();
console.log("done");
