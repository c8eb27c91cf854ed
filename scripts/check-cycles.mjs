#!/usr/bin/env node
/**
 * Fails when the sources import each other in a circle. Every import counts: static, dynamic
 * (`import()`), re-exports and `import type`, read with TypeScript's own `ts.preProcessFile`,
 * which skips comments and strings. A lazily loaded module that imports its loader back is a
 * cycle too: hand the lazy part in at run time instead (see src/core/store/lazy-loader.ts).
 *
 *   node scripts/check-cycles.mjs [dir]   # default: src
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const top = process.argv[2] ?? "src";

function sourceFiles(dir) {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.(ts|mts)$/.test(entry.name) && !entry.name.endsWith(".d.ts") ? [path] : [];
  });
}

/** The source file a relative specifier names (`./x.js` is `./x.ts`), or undefined. */
function target(from, specifier) {
  const path = relative(root, resolve(root, dirname(from), specifier.replace(/\?.*$/, "")));
  return [path.replace(/\.js$/, ".ts"), path.replace(/\.mjs$/, ".mts"), path, `${path}.ts`].find((p) =>
    existsSync(join(root, p)),
  );
}

/** Each file's relative imports, as repository paths. */
function importGraph(files) {
  const graph = new Map();
  for (const file of files) {
    const { importedFiles } = ts.preProcessFile(readFileSync(join(root, file), "utf8"), true, true);
    const targets = importedFiles.map((f) => f.fileName).filter((s) => s.startsWith("."));
    graph.set(file, [...new Set(targets.map((s) => target(file, s)).filter((t) => t !== undefined))]);
  }
  return graph;
}

/** One cycle per strongly connected component (Tarjan), each as the path that closes it. */
function cycles(graph) {
  const index = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const found = [];
  let next = 0;
  const visit = (v) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), index.get(w)));
    }
    if (low.get(v) !== index.get(v)) return;
    const component = new Set();
    for (let w; w !== v; ) {
      w = stack.pop();
      onStack.delete(w);
      component.add(w);
    }
    if (component.size > 1 || graph.get(v)?.includes(v)) found.push(closingPath(graph, v, component));
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

/** A shortest path from `start` back to itself inside one component, for the message. */
function closingPath(graph, start, component) {
  const previous = new Map();
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift();
    for (const w of graph.get(v) ?? []) {
      if (!component.has(w)) continue;
      if (w === start) {
        const path = [v];
        while (path[0] !== start) path.unshift(previous.get(path[0]));
        return [...path, start];
      }
      if (!previous.has(w)) {
        previous.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start, start];
}

const files = sourceFiles(top);
const found = cycles(importGraph(files));
for (const path of found) console.error(`import cycle: ${path.join(" -> ")}`);
if (found.length > 0) process.exit(1);
console.log(`no import cycles in ${files.length} files under ${top}/`);
