/**
 * `node --import ./test/node/anystore-from-src.mjs --import tsx script.mjs` runs a script that
 * imports "anystore" (an example from the README) against the sources instead of dist/, so a
 * test can run it without a build (this hook first: tsx then loads the .ts it resolves to).
 */
import { register } from "node:module";

const target = new URL("../../src/index.node.ts", import.meta.url).href;
const hooks = `export async function resolve(specifier, context, next) {
  return specifier === "anystore" ? { url: ${JSON.stringify(target)}, shortCircuit: true } : next(specifier, context);
}`;
register(`data:text/javascript,${encodeURIComponent(hooks)}`);
