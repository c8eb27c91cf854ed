/**
 * Crawling a plain web server from a page (SPEC 15): the CORS-open hostile site of the browser
 * project's setup (test/node/crawl-server.ts), crawled by Chromium's fetch.
 */
import { describe, expect, inject, it } from "vitest";
import { createStore } from "../../src/index.browser.js";
import { rejectsWith } from "../shared/contract.js";
import { hostileKeys } from "../shared/crawl-site.js";

const base = inject("crawlBase");
const origin = inject("crawlOrigin");
const bystander = inject("crawlBystander");

const log = async (server: string): Promise<string[]> => (await fetch(`${server}/__log`)).json();

describe("crawling a web server from Chromium", () => {
  it("lists the files under the base and reads them; nothing outside the base is asked for", async () => {
    const store = createStore(base, { maxDepth: 3, timeout: 2000, pageTimeout: 5000 });
    const keys: string[] = [];
    for await (const key of store.keys()) keys.push(key);
    // A browser hides where a redirect goes, so those into target/ and indexed/ are not followed here.
    expect(keys.sort()).toEqual(hostileKeys().filter((k) => !k.startsWith("target/") && !k.startsWith("indexed/")));
    expect(await store.get("malformed/amp&ersand.txt")).toBe("content of /site/malformed/amp&ersand.txt");

    expect(await log(bystander)).toEqual([]);
    const requests = await log(origin);
    expect(requests.filter((p) => !p.startsWith("/site/"))).toEqual([]);
    const folders = requests.filter((p) => p.endsWith("/"));
    expect(new Set(folders).size).toBe(folders.length);
    expect(folders).not.toContain("/site/target/");
  });

  it("throws NotFoundError for a missing base", async () => {
    await rejectsWith(createStore(`${base}missing/`).keys().next(), "NOT_FOUND");
  });
});
