/**
 * The notebook demo in a real Chromium, two users in two browser contexts (and a second tab of
 * one), against the demo server on a free loopback port (stopped and restarted on the same port
 * and SQLite file to take the team offline). No test presses Sync to move notes: the pages are
 * live (they follow both stores' `watch`). Screenshots of the main states go to test/.tmp/screenshots/
 * (demo/screenshots/ with UPDATE_SCREENSHOTS=1).
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createStore } from "../../src/index.node.js";
import {
  buildDemo,
  DemoServer,
  editNote,
  freePort,
  launchChromium,
  makeFile,
  noteTexts,
  openNotebook,
  screenshot,
  syncNow,
  writeNote,
} from "./demo-harness.js";

/** How long a live change may take to show on another page (it takes well under a second). */
const LIVE_MS = 5000;
/** The server is back: the pages' watches reconnect (backoff of at most a few seconds), then sync. */
const RECONNECT_MS = 15_000;

/** Waits until the page's notes contain every text of `present` and none of `absent`. */
async function eventually(page: Page, present: string[], absent: string[] = [], timeout = LIVE_MS): Promise<void> {
  await expect
    .poll(
      async () => {
        const texts = (await noteTexts(page)).join("\n");
        return [...present.filter((t) => !texts.includes(t)), ...absent.filter((t) => texts.includes(t))];
      },
      { timeout },
    )
    .toEqual([]);
}

const REGIONS = ["north", "south", "east", "west", "central"];

/** A sales table: region (the text column the cell groups by), product, units, price. */
function salesCsv(rows: number): string {
  const lines = ["region,product,units,price"];
  for (let i = 0; i < rows; i++) lines.push(`${REGIONS[i % 5]},"item ${i % 97}",${i % 17},${(i * 37) % 1000}.5`);
  return `${lines.join("\n")}\n`;
}

function salesUnits(rows: number): number {
  let sum = 0;
  for (let i = 0; i < rows; i++) sum += i % 17;
  return sum;
}

describe("the notebook demo", () => {
  let tmp: string;
  let server: DemoServer;
  let browser: Browser;
  let contexts: BrowserContext[] = [];
  let ada: Page;
  let linus: Page;

  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), "anystore-e2e-"));
    await buildDemo();
    server = new DemoServer(join(tmp, "notebook.db"), await freePort());
    await server.start();
    browser = await launchChromium();
    const users = await Promise.all([
      openNotebook(browser, server.url, "Ada"),
      openNotebook(browser, server.url, "Linus"),
    ]);
    contexts = users.map((u) => u.context);
    [ada, linus] = users.map((u) => u.page) as [Page, Page];
  });

  afterAll(async () => {
    await Promise.all(contexts.map((c) => c.close()));
    await browser?.close();
    await server?.stop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it("two users see each other's notes live, without pressing Sync", async () => {
    await writeNote(ada, "# Groceries\n- milk\n- coffee");
    await writeNote(
      ada,
      "## Launch plan\nShip the **demo** on *Friday*; see [anystore](https://github.com/dataresearchcenter/anystore).",
    );
    await writeNote(ada, "Scratch: delete me");
    await writeNote(linus, "# Standup\nDemo at `10:00`, then review.\n> bring the screenshots");

    await eventually(linus, ["Groceries", "Launch plan", "Scratch", "Standup"]);
    await eventually(ada, ["Standup"]);
    await linus.locator("[data-testid=note]", { hasText: "Scratch" }).locator("[data-testid=delete]").click();
    await eventually(ada, [], ["Scratch"]);
    await screenshot(ada, "1-two-users-live");

    for (const page of [ada, linus]) {
      await expect.poll(() => page.locator("[data-testid=status]").getAttribute("data-state")).toBe("ok");
      await expect.poll(() => page.locator("[data-testid=status]").innerText()).toMatch(/^Live: in sync/);
      await expect.poll(() => page.locator("[data-testid=note]").count()).toBe(3);
    }
    expect(await syncNow(ada)).toBe("Already in sync: nothing moved."); // the button still works
  });

  it("a page that goes offline stops following the server, and catches up once back online", async () => {
    await contexts[1]!.setOffline(true); // Linus's browser loses the network
    await expect.poll(() => linus.locator("[data-testid=status]").getAttribute("data-live")).toBe("false");
    await expect.poll(() => linus.locator("[data-testid=status]").getAttribute("data-state")).toBe("offline");
    await writeNote(ada, "# While Linus was away\nHe gets it when his browser is back online.");
    await contexts[1]!.setOffline(false);
    await eventually(linus, ["While Linus was away"], [], RECONNECT_MS);
    await expect.poll(() => linus.locator("[data-testid=status]").getAttribute("data-live")).toBe("true");
  });

  it("a note saved in one tab shows in the browser's other tab, even with the server down", async () => {
    const tab = await contexts[0]!.newPage();
    try {
      await tab.goto(`${server.url}/`);
      await tab.waitForSelector("body[data-ready]");
      await eventually(tab, ["Groceries", "Standup"]); // the same IndexedDB
      await server.stop(); // only the tabs' BroadcastChannel can carry the next note
      await writeNote(tab, "# From the second tab\nSaved in IndexedDB, seen by the first tab.");
      await eventually(ada, ["From the second tab"]);
    } finally {
      await tab.close();
    }
  });

  it("edits made while the server is down are all kept once it is back", async () => {
    await linus.waitForSelector("body[data-offline-ready]"); // the page itself is cached for offline use
    // (the server is still down since the previous test)

    // Both edit the same note offline (Ada first, so Linus's edit is the newer one) ...
    await editNote(ada, "Groceries", "# Groceries\n- milk\n- coffee\n- bread (Ada, offline)");
    await linus.reload(); // served by the service worker's copy: the server is down
    await linus.waitForSelector("body[data-ready]");
    await editNote(linus, "Groceries", "# Groceries\n- milk\n- coffee\n- eggs (Linus, offline)");
    await writeNote(linus, "# Written offline\nKept in IndexedDB until the next sync.");
    expect(await syncNow(linus)).toMatch(/^Sync failed: the server is unreachable/);
    await expect
      .poll(() => linus.locator("[data-testid=status]").innerText())
      .toBe("Offline: 2 unsynced changes kept in this browser");
    await screenshot(linus, "2-offline-edits");

    // ... and nobody presses Sync: both pages reconnect by themselves (the watch's `resync`).
    await server.start(); // same port, same SQLite file
    const all = [
      "eggs (Linus, offline)",
      "bread (Ada, offline)",
      "Written offline",
      "From the second tab",
      "While Linus was away",
      "Standup",
    ];
    for (const page of [ada, linus]) {
      await eventually(page, all, [], RECONNECT_MS);
      await expect.poll(() => page.locator("[data-testid=note]").count(), { timeout: RECONNECT_MS }).toBe(7);
      await expect
        .poll(() => page.locator("[data-testid=status]").getAttribute("data-state"), { timeout: RECONNECT_MS })
        .toBe("ok");
    }
    await expect(ada.locator("[data-testid=note]", { hasText: "bread (Ada, offline)" }).innerText()).resolves.toContain(
      "conflict copy",
    );
    await screenshot(ada, "3-back-online-conflict-kept");
  });

  it("uploads a 50 MiB file through OPFS with progress, and the sha256 shown is the file's", async () => {
    const size = 50 * 2 ** 20;
    const path = join(tmp, "survey-2026.bin");
    const expected = await makeFile(path, size);

    // A slower link for a while, so the page is seen mid-upload.
    const network = await contexts[0]!.newCDPSession(ada);
    const uploadAt = (bytesPerSecond: number) =>
      network.send("Network.emulateNetworkConditions", {
        offline: false,
        latency: 0,
        downloadThroughput: -1,
        uploadThroughput: bytesPerSecond,
      });
    await uploadAt(20 * 2 ** 20);
    await ada.setInputFiles("[data-testid=file-input]", path);
    await ada.waitForFunction(() => {
      const bar = document.querySelector<HTMLProgressElement>("[data-testid=upload-progress]");
      return bar !== null && bar.value > bar.max * 0.2 && bar.value < bar.max * 0.8;
    });
    await screenshot(ada, "4-file-uploading");
    await uploadAt(-1);
    // Generous: with the whole suite running on 2 cores, hashing 50 MiB in the page and on the
    // server and the upload itself have taken over 45 s; alone this takes ~10 s.
    await ada.waitForSelector("[data-testid=file-verified]", { timeout: 110_000 });

    expect(await ada.locator("[data-testid=file-sha256]").innerText()).toBe(expected);
    expect(await ada.locator("[data-testid=file-verified]").innerText()).toContain("matches");
    expect(await ada.locator("[data-testid=file-size]").getAttribute("data-bytes")).toBe(String(size));
    for (const bar of ["local-progress", "upload-progress"]) {
      const progress = ada.locator(`[data-testid=${bar}]`);
      expect(await progress.evaluate((el: HTMLProgressElement) => [el.value, el.max])).toEqual([size, size]);
      expect(Number(await progress.getAttribute("data-steps"))).toBeGreaterThan(2); // in steps, not only at the end
    }
    await screenshot(ada, "4-file-uploaded");

    const team = createStore(`anystore+${server.url}/notebook`);
    expect(await team.checksum("files/survey-2026.bin", "sha256")).toBe(expected);
    expect((await team.info("files/survey-2026.bin")).size).toBe(size);

    await ada.selectOption("[data-testid=keys-store]", { label: "Server: team notebook (SQLite)" });
    await expect
      .poll(() => ada.locator("[data-testid=key-row]", { hasText: "files/survey-2026.bin" }).innerText())
      .toContain("50 MiB");
    await ada.selectOption("[data-testid=keys-store]", { label: "This browser: files (OPFS)" });
    await expect.poll(() => ada.locator("[data-testid=key-row]", { hasText: "files/survey-2026.bin" }).count()).toBe(1);
    await screenshot(ada, "5-keys-panel");
  }, 150_000);

  it("an edit started before a live update brought a newer version is kept as a copy", async () => {
    const id = await ada.locator("[data-testid=note]", { hasText: "Launch plan" }).getAttribute("data-id");
    const adaCell = ada.locator(`[data-testid=note][data-id="${id}"]`);
    await adaCell.locator("[data-testid=edit]").click();
    await adaCell.locator("[data-testid=editor]").fill("## Launch plan\nShip on Monday (Ada)");

    await editNote(linus, "Launch plan", "## Launch plan\nShip on Tuesday (Linus)");
    // Linus's version reaches Ada's page while her editor is open; her text stays in it.
    await expect
      .poll(() => ada.locator("[data-testid=sync-report]").innerText(), { timeout: LIVE_MS })
      .toContain('got "Launch plan" by Linus');
    expect(await adaCell.locator("[data-testid=editor]").inputValue()).toBe("## Launch plan\nShip on Monday (Ada)");
    await adaCell.locator("[data-testid=save]").click();
    await adaCell.locator("[data-testid=editor]").waitFor({ state: "detached" });

    for (const page of [ada, linus]) await eventually(page, ["Ship on Tuesday (Linus)", "Ship on Monday (Ada)"]);
  });

  it("a CSV cell is computed once: the other user's page gets the result from the shared cache", async () => {
    const rows = 200_000;
    const path = join(tmp, "sales-2026.csv");
    await writeFile(path, salesCsv(rows));
    await ada.setInputFiles("[data-testid=file-input]", path);

    const adaCell = ada.locator("[data-testid=note]", { hasText: "sales-2026.csv" });
    await expect
      .poll(() => adaCell.locator("[data-testid=csv-source]").getAttribute("data-source"), { timeout: 60_000 })
      .toBe("computed");
    expect(await adaCell.locator("[data-testid=csv-source]").innerText()).toMatch(/^⚡ computed here in [\d,]+ ms$/);

    // The cell reaches Linus live; his page asks the same anycache, which answers from the server.
    const linusCell = linus.locator("[data-testid=note]", { hasText: "sales-2026.csv" });
    await expect
      .poll(() => linusCell.locator("[data-testid=csv-source]").getAttribute("data-source"), { timeout: LIVE_MS })
      .toBe("cache");
    expect(await linusCell.locator("[data-testid=csv-source]").innerText()).toContain("from the shared cache");
    expect(await linusCell.locator("[data-testid=csv-source]").innerText()).toContain("computed by Ada");
    for (const cell of [adaCell, linusCell]) {
      expect(await cell.locator("[data-testid=csv-rows]").innerText()).toBe("200,000 rows, 4 columns");
      const columns = await cell.locator("[data-testid=csv-columns]").innerText();
      expect(columns).toContain(salesUnits(rows).toLocaleString("en")); // the sum of the units column
      expect(await cell.locator("[data-testid=csv-groups]").innerText()).toMatch(/north\s+40,000/);
    }
    await screenshot(linus, "6-csv-cell-from-shared-cache");

    const team = createStore(`anystore+${server.url}/notebook`);
    const cached = [];
    for await (const key of team.keys({ prefix: "cache/csv-summary" })) cached.push(key);
    expect(cached).toHaveLength(1); // one entry, by the file's sha256, for the whole team
  });
});
