/**
 * IndexedDB and OPFS in Chromium: anystore vs raw IndexedDB, idb-keyval and unstorage (its
 * indexedb driver), and vs raw synchronous access handles in a worker. The page (bench/browser/page.mjs) and its worker are bundled from the built
 * dist with rollup, served on loopback, and run in Debian's Chromium with a persistent on-disk
 * profile: an incognito context keeps IndexedDB and OPFS in memory and measures something else.
 */

import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import nodeResolve from "@rollup/plugin-node-resolve";
import { chromium } from "playwright";
import { rollup } from "rollup";
import { CHROMIUM_ARGS, CHROMIUM_PATH } from "../../chromium.config.mjs";

export const title = "browser: IndexedDB and OPFS in Chromium (on-disk profile)";

const here = fileURLToPath(new URL("../browser/", import.meta.url));
/** Under bench/.data (gitignored); removed after the run. */
const OUT = fileURLToPath(new URL("../.data/browser-bundle/", import.meta.url));
const CHROMIUM = CHROMIUM_PATH;
const ARGS = CHROMIUM_ARGS;

/** Bundles the page and the worker (lazy chunks stay separate, as an app's bundler would ship them). */
async function bundle() {
  await rm(OUT, { recursive: true, force: true });
  for (const [input, name] of [
    ["page.mjs", "page.js"],
    ["opfs-worker.mjs", "worker.js"],
  ]) {
    const build = await rollup({
      input: join(here, input),
      plugins: [
        nodeResolve({ browser: true, exportConditions: ["browser", "import", "default"], preferBuiltins: false }),
      ],
      onwarn: (warning, warn) => (warning.code === "CIRCULAR_DEPENDENCY" ? undefined : warn(warning)),
    });
    await build.write({ dir: OUT, format: "es", entryFileNames: name, chunkFileNames: "[name]-[hash].js" });
    await build.close();
  }
}

const TYPES = { ".js": "text/javascript", ".html": "text/html" };
const PAGE = `<!doctype html><meta charset="utf-8"><title>anystore bench</title><script type="module" src="/page.js"></script>`;

/** A static server for the bundle on 127.0.0.1 (a secure context, so OPFS works). */
function serve() {
  const server = createServer(async (req, res) => {
    const path = new URL(req.url, "http://x").pathname;
    if (path === "/") return res.writeHead(200, { "content-type": "text/html" }).end(PAGE);
    const file = normalize(join(OUT, path));
    if (!file.startsWith(OUT)) return res.writeHead(403).end();
    try {
      const body = await readFile(file);
      res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

/** Bundles, serves and opens the bench page; `use(call)` runs workloads by name. */
export async function withBenchPage(use) {
  await bundle();
  const server = await serve();
  const profile = await mkdtemp(join(tmpdir(), "anystore-bench-profile-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
  });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    page.on("pageerror", (error) => console.error(`page error: ${error.message}`));
    await page.goto(`http://127.0.0.1:${server.address().port}/`);
    // Generous: on a loaded machine the first paint of a fresh profile can take a while.
    await page.waitForFunction(() => window.benchReady === true, null, { timeout: 120_000 });
    return await use((name) => page.evaluate((n) => window.bench[n](), name));
  } finally {
    await context.close();
    server.close();
    await rm(profile, { recursive: true, force: true });
    await rm(OUT, { recursive: true, force: true });
  }
}

export default async function run(report) {
  await withBenchPage(async (call) => {
    // One table per driver; each row: anystore first, then raw, then the peers that have the backend.
    report.table("IndexedDB", await call("indexeddb"));
    report.table("OPFS", await call("opfs"));
  });
}
