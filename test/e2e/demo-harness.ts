/**
 * What the demo's e2e test needs around the page: the bundle built from the current sources,
 * the demo server (started in-process from the sources, stoppable and restartable on the same
 * port and SQLite file), Debian's Chromium, and screenshots: under test/.tmp/screenshots/ on
 * every run (look at them after a failure), and into demo/screenshots/ (the README's pictures)
 * only with UPDATE_SCREENSHOTS=1, so a test run leaves the checkout clean.
 */
import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, readdir, stat } from "node:fs/promises";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Browser, BrowserContext, Page } from "playwright";
import { chromium } from "playwright";
import { rollup } from "rollup";
import { CHROMIUM_ARGS, CHROMIUM_PATH } from "../../chromium.config.mjs";
import { startDemoServer } from "../../demo/server-app.mjs";
import { createHandler, createStore } from "../../src/index.node.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "../..");
export const screenshotDir = join(
  root,
  process.env.UPDATE_SCREENSHOTS === "1" ? "demo/screenshots" : "test/.tmp/screenshots",
);

/** The newest modification time under `dir` (ms). */
async function newest(dir: string): Promise<number> {
  let latest = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) latest = Math.max(latest, (await stat(join(entry.parentPath, entry.name))).mtimeMs);
  }
  return latest;
}

/** Bundles the page from the current sources, unless demo/dist/app.js is already newer than all of them. */
export async function buildDemo(): Promise<void> {
  const built = await stat(join(root, "demo/dist/app.js")).then(
    (s) => s.mtimeMs,
    () => 0,
  );
  const sources = Math.max(
    await newest(join(root, "src")),
    await newest(join(root, "demo/src")),
    (await stat(join(root, "demo/rollup.config.mjs"))).mtimeMs,
  );
  if (built > sources) return;
  const config = (await import("../../demo/rollup.config.mjs")).demoConfig({ minify: false });
  const bundle = await rollup(config);
  try {
    await bundle.write(config.output);
  } finally {
    await bundle.close();
  }
}

export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** The demo server on a fixed port and database, so a stop and a start are the same server back. */
export class DemoServer {
  #running: { url: string; close(): Promise<void> } | undefined;

  constructor(
    readonly db: string,
    readonly port: number,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.#running = await startDemoServer({ createStore, createHandler }, { db: this.db, port: this.port });
  }

  async stop(): Promise<void> {
    await this.#running?.close();
    this.#running = undefined;
  }
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
}

/** A user: a browser context of their own (own IndexedDB and OPFS) with the notebook open. */
export async function openNotebook(
  browser: Browser,
  url: string,
  name: string,
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.on("pageerror", (error) => console.error(`[${name}] page error:`, error));
  await page.goto(`${url}/`);
  await page.waitForSelector("body[data-ready]");
  await page.fill("[data-testid=author]", name);
  await page.press("[data-testid=author]", "Tab"); // commits the name (change event)
  return { context, page };
}

export async function writeNote(page: Page, text: string): Promise<void> {
  await page.click("[data-testid=new-note]");
  await page.fill("[data-testid=composer] [data-testid=editor]", text);
  await page.click("[data-testid=composer] [data-testid=save]");
  await page.waitForSelector("[data-testid=composer]", { state: "detached" });
}

export async function editNote(page: Page, containing: string, text: string): Promise<void> {
  const id = await page.locator("[data-testid=note]", { hasText: containing }).getAttribute("data-id");
  const cell = page.locator(`[data-testid=note][data-id="${id}"]`);
  await cell.locator("[data-testid=edit]").click();
  await cell.locator("[data-testid=editor]").fill(text);
  await cell.locator("[data-testid=save]").click();
  await cell.locator("[data-testid=editor]").waitFor({ state: "detached" });
}

/** Clicks Sync and waits for its outcome; returns the summary line (or the error). */
export async function syncNow(page: Page): Promise<string> {
  await page.click("[data-testid=sync]");
  await page.waitForFunction(() => {
    const button = document.querySelector<HTMLButtonElement>("[data-testid=sync]")!;
    return !button.disabled && document.querySelector("[data-testid=sync-summary], [data-testid=sync-error]") !== null;
  });
  return page.locator("[data-testid=sync-report] p:not(.muted)").first().innerText();
}

export function noteTexts(page: Page): Promise<string[]> {
  return page.locator("[data-testid=note] [data-testid=note-body]").allInnerTexts();
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(screenshotDir, { recursive: true });
  await page.screenshot({ path: join(screenshotDir, `${name}.png`), fullPage: true });
}

/** Writes `size` pseudo-random bytes (seeded, so runs compare) and resolves to their sha256. */
export async function makeFile(path: string, size: number): Promise<string> {
  const hash = createHash("sha256");
  const out = createWriteStream(path);
  let state = 0x9e3779b9;
  const chunk = new Uint8Array(1 << 20);
  for (let written = 0; written < size; written += chunk.length) {
    const view = new Uint32Array(chunk.buffer);
    for (let i = 0; i < view.length; i++) {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      view[i] = state >>> 0;
    }
    const part = chunk.subarray(0, Math.min(chunk.length, size - written));
    hash.update(part);
    if (!out.write(Buffer.from(part))) await new Promise((resolve) => out.once("drain", resolve));
  }
  await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
  return hash.digest("hex");
}
