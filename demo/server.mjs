#!/usr/bin/env node
/**
 * `npm start`: serves the notebook demo and its API on 127.0.0.1 (PORT, default 8787) from the
 * built package. The team's notebook lives in demo/.data/notebook.db (DEMO_DB to change it).
 */
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createHandler, createStore } from "../dist/index.node.js";
import { NAMESPACE, startDemoServer } from "./server-app.mjs";

const db = resolve(process.env.DEMO_DB ?? fileURLToPath(new URL("./.data/notebook.db", import.meta.url)));
const port = Number(process.env.PORT ?? 8787);
const server = await startDemoServer({ createStore, createHandler }, { db, port }).catch((error) => {
  if (error?.code !== "EADDRINUSE") throw error;
  console.error(`port ${port} is in use: try PORT=${port + 1} npm start`);
  process.exit(1);
});

console.log(`anystore notebook demo: ${server.url}/`);
console.log(
  `  API: anystore+${server.url}/${NAMESPACE}  (try: npx anystore --store anystore+${server.url}/${NAMESPACE} keys --info)`,
);
console.log(`  data: ${db}`);
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, () => void server.close().then(() => process.exit(0)));
}
