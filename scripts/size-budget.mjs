#!/usr/bin/env node
import { existsSync, readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
/**
 * Size budget for browser bundles, measured the way a bundler ships the package: a small app
 * imports `anystore` and one driver through the package's `browser` exports, rollup bundles it
 * (lazy chunks stay separate, as every bundler does with `import()`), terser minifies, gzip -9.
 * Only the initial chunk counts; lazy chunks (other drivers, hashing, globs) are listed for
 * information. Also fails if anything reachable from the browser entry, lazy chunks included,
 * imports a Node built-in. Needs `npm run build` first.
 *
 *   node scripts/size-budget.mjs          # check, exit 1 when over budget
 *   node scripts/size-budget.mjs --why    # also list the biggest modules of each initial chunk
 */
import nodeResolve from "@rollup/plugin-node-resolve";
import terser from "@rollup/plugin-terser";
import { rollup } from "rollup";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const KB = 1000; // kB as bundle-size tools (size-limit, bundlejs) count them

/**
 * Budgets, min+gzip, initial chunk: the browser entry with each browser driver imported directly.
 * They sit a little above what the code weighs when they were set, so growth is a decision, not an
 * accident; with IndexedDB issue 5 aimed at 7 kB, which the features of issues 13-16 passed by
 * 0.3 kB (below). Issue 5 also aims at 5 kB with memory,
 * which the hot/lazy split alone does not reach: the rest would cost behaviour (README, "How it is
 * built"; ARCHITECTURE.md).
 */
const withDriver = (name, factory, budget) => ({
  name: `anystore + ${name} driver`,
  budget,
  code: `import { createStore } from "anystore";\nimport { ${factory} } from "anystore/drivers/${name}";\nexport const store = createStore({ driver: ${factory}(${name === "http" ? '{ url: "anystore+https://example.org" }' : name === "s3" ? '{ bucket: "b" }' : ""}) });`,
});
const cases = [
  {
    name: "anystore alone (uri drivers load lazily)",
    // The hot chunk grew by 0.3 kB with this round's features, each entry small and the rest lazy:
    // store.watch and close ending watches (SPEC 11), the compression switch in get/put (SPEC 14),
    // the reserved area sync keeps its bases in (SPEC 12), schema messages naming the first issue
    // (issue 13), listing by pages (issue 18).
    budget: 5.1 * KB,
    code: `import { createStore } from "anystore";\nexport const store = createStore("idb://app");`,
  },
  // memory, indexeddb and opfs grew with watch (SPEC 11) too: memory's in-process feed, the write
  // notices of indexeddb and opfs (their listening half loads lazily), besides the core above.
  withDriver("memory", "memoryDriver", 6.1 * KB),
  withDriver("indexeddb", "indexeddbDriver", 7.35 * KB),
  withDriver("opfs", "opfsDriver", 8 * KB),
  // http grew with the silence watchdog (issue 11), the crawl seam (SPEC 15) and the watch and
  // listing seams (SPEC 11, SPEC 8; both load lazily): a decision, not drift.
  withDriver("http", "httpDriver", 9.6 * KB),
  withDriver("s3", "s3Driver", 13.6 * KB),
];

const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

/** The file a subpath of this package maps to for a browser bundler (`browser`, then `default`). */
function selfResolve(id) {
  const sub = id === pkg.name ? "." : `.${id.slice(pkg.name.length)}`;
  const entry = pkg.exports[sub];
  if (!entry) throw new Error(`${id} is not exported by package.json`);
  const pick = (e) => (typeof e === "string" ? e : pick(e.browser ?? e.default));
  return join(root, pick(entry));
}

/** Resolves the package to its own dist, records Node built-ins (kept external so the build finishes). */
function appPlugin(code, nodeImports) {
  return {
    name: "size-app",
    resolveId(id, importer) {
      if (id === "\0app") return id;
      if (id === pkg.name || id.startsWith(`${pkg.name}/`)) return selfResolve(id);
      if (builtins.has(id) || id.startsWith("node:")) {
        nodeImports.add(`${id} (from ${importer ? relative(root, importer) : "?"})`);
        return { id, external: true };
      }
      return null;
    },
    load: (id) => (id === "\0app" ? code : null),
  };
}

async function measure({ code }) {
  const nodeImports = new Set();
  const bundle = await rollup({
    input: "\0app",
    plugins: [
      appPlugin(code, nodeImports),
      nodeResolve({ browser: true, exportConditions: ["browser", "import", "default"], preferBuiltins: false }),
    ],
    onwarn(warning, warn) {
      if (warning.code !== "CIRCULAR_DEPENDENCY") warn(warning);
    },
  });
  const { output } = await bundle.generate({
    format: "es",
    plugins: [terser({ module: true, compress: { passes: 2 }, format: { comments: false } })],
  });
  await bundle.close();
  const chunks = output.filter((o) => o.type === "chunk");
  const size = (c) => gzipSync(c.code, { level: 9 }).byteLength;
  // The initial load: the entry chunk and every chunk it imports statically (shared code rollup split out).
  const byName = new Map(chunks.map((c) => [c.fileName, c]));
  const initialChunks = new Set();
  const visit = (c) => {
    if (initialChunks.has(c)) return;
    initialChunks.add(c);
    for (const name of c.imports) if (byName.has(name)) visit(byName.get(name));
  };
  visit(chunks.find((c) => c.isEntry));
  const initial = {
    code: [...initialChunks].map((c) => c.code).join("\n"),
    modules: Object.assign({}, ...[...initialChunks].map((c) => c.modules)),
  };
  const modules = Object.entries(initial.modules)
    .map(([id, m]) => ({
      id: id.startsWith(root) ? relative(root, id) : id,
      bytes: m.renderedLength,
      code: m.code ?? "",
    }))
    .filter((m) => m.bytes > 0)
    .sort((a, b) => b.bytes - a.bytes);
  return {
    gzip: size(initial),
    min: initial.code.length,
    modules,
    lazy: chunks.filter((c) => !initialChunks.has(c)).map((c) => ({ name: c.fileName, gzip: size(c) })),
    nodeImports: [...nodeImports],
  };
}

/** One module's code, minified and gzipped on its own (terser comes with @rollup/plugin-terser). */
async function alone(code) {
  const { minify } = await import("terser");
  return gzipSync((await minify(code, { toplevel: false, compress: { passes: 2 } })).code ?? "", { level: 9 })
    .byteLength;
}

if (!existsSync(join(root, "dist/index.browser.js"))) {
  console.error("dist/ is missing: run `npm run build` first");
  process.exit(1);
}
const why = process.argv.includes("--why");
let failed = false;
for (const c of cases) {
  const r = await measure(c);
  const over = c.budget !== undefined && r.gzip > c.budget;
  failed ||= over || r.nodeImports.length > 0;
  const budget = c.budget === undefined ? "" : ` / budget ${(c.budget / KB).toFixed(1)} kB ${over ? "OVER" : "ok"}`;
  console.log(`${c.name}: ${(r.gzip / KB).toFixed(2)} kB min+gzip (${(r.min / KB).toFixed(1)} kB min)${budget}`);
  if (r.nodeImports.length > 0)
    console.log(`  Node built-ins pulled into a browser bundle: ${r.nodeImports.join(", ")}`);
  if (why || over) {
    console.log("    module weights, each minified and gzipped alone (overstates a little: no shared gzip window):");
    const weighed = await Promise.all(r.modules.map(async (m) => ({ ...m, gz: await alone(m.code) })));
    for (const m of weighed.sort((a, b) => b.gz - a.gz).slice(0, 16))
      console.log(`    ${String(m.gz).padStart(6)} B  ${m.id}`);
    console.log(
      `    lazy chunks: ${r.lazy.map((l) => `${l.name} ${(l.gzip / KB).toFixed(1)} kB`).join(", ") || "none"}`,
    );
  }
}
process.exit(failed ? 1 : 0);
