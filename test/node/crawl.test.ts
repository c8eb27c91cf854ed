/**
 * Crawling plain web servers (SPEC 15): `keys()` of an `http(s)://` store reads index pages.
 * Real servers on loopback: Debian's `python3 -m http.server`, nginx with `autoindex` (when
 * installed), and a hostile node:http site that logs every request it gets.
 */

import type { ChildProcess } from "node:child_process";
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, statSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CrawlSkip } from "../../src/drivers/browser/http/crawl.js";
import { crawlKeys } from "../../src/drivers/browser/http/crawl.js";
import { decodeEntities, extractLinks } from "../../src/drivers/browser/http/crawl-links.js";
import { createStore, mirror } from "../../src/index.node.js";
import { rejectsWith } from "../shared/contract.js";
import { hostileKeys } from "../shared/crawl-site.js";
import type { HostileSite, TestServer } from "./crawl-server.js";
import { startBystander, startHostileSite } from "./crawl-server.js";
import { TMP } from "./tmp.js";

const ROOT = process.cwd();
const PYTHON = existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
const NGINX = ["/usr/sbin/nginx", "/usr/bin/nginx"].find((path) => existsSync(path));

const collect = async (keys: AsyncIterable<string>) => {
  const out: string[] = [];
  for await (const key of keys) out.push(key);
  return out.sort();
};
const collectPages = async (pages: AsyncIterable<string[]>) =>
  await collect(
    (async function* () {
      for await (const page of pages) yield* page;
    })(),
  );

/** Request paths of folders (ending in `/`), decoded, each as often as it was asked for. */
const folderRequests = (paths: string[]) => paths.filter((p) => p.endsWith("/")).map((p) => decodeURIComponent(p));

// ---------------------------------------------------------------------------------------------
// A tree of 200 files in nested folders, with names that need escaping.

const DIRS = ["", "a b", "a b/ünï cödé", "x#y", "x#y/50%/r&d", "deep/er/and/deeper", "émoji 🙂", "q?uery=1"];
const NAMES = [
  "plain",
  "with space",
  "ünïcödé",
  "hash#tag",
  "50%",
  "r&d",
  "mix #1 & 100% é",
  "semi;colon",
  "quote'd",
  "+plus+",
];
const EXTS = [".txt", ".json", ".bin", ""];

interface Tree {
  root: string;
  files: Map<string, Buffer>;
}

/** Writes the 200 files under `ROOT/docs/`, plus names no key can read and files outside `docs/`. */
async function writeTree(root: string): Promise<Tree> {
  const files = new Map<string, Buffer>();
  for (let i = 0; i < 200; i++) {
    const dir = DIRS[i % DIRS.length]!;
    const key = `${dir ? `${dir}/` : ""}${NAMES[i % NAMES.length]} ${i}${EXTS[i % EXTS.length]}`;
    files.set(key, i === 0 ? Buffer.alloc(0) : randomBytes((i * 7919) % 20_000));
  }
  for (const [key, bytes] of files) {
    await mkdir(dirname(join(root, "docs", key)), { recursive: true });
    await writeFile(join(root, "docs", key), bytes);
  }
  // Listed by the servers, never yielded: no key reads them back (SPEC 5).
  await writeFile(join(root, "docs", "back\\slash.txt"), "x");
  await mkdir(join(root, "docs", "a b", ".anystore"), { recursive: true });
  await writeFile(join(root, "docs", "a b", ".anystore", "meta"), "x");
  // Outside the base: never asked for.
  await writeFile(join(root, "secret.txt"), "secret");
  await mkdir(join(root, "docs-private"), { recursive: true });
  await writeFile(join(root, "docs-private", "p.txt"), "private");
  return { root, files };
}

/** Every folder of the tree that holds a key, as a request path under `/docs/`. */
const treeFolders = (tree: Tree) => {
  const folders = new Set(["/docs/"]);
  for (const key of tree.files.keys()) {
    const parts = key.split("/").slice(0, -1);
    for (let i = 1; i <= parts.length; i++) folders.add(`/docs/${parts.slice(0, i).join("/")}/`);
  }
  return [...folders].sort();
};

// ---------------------------------------------------------------------------------------------
// Servers

interface LoggedServer {
  url: string;
  requests(): Promise<string[]>;
  stop(): Promise<void>;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
}

let marks = 0;

/**
 * The request paths a server logged so far. A log line may land after its response (a pipe, a
 * file written at request end), so this asks for a marker path and waits until the marker is
 * logged: every request answered before it is in the log by then.
 */
async function settledRequests(url: string, readLog: () => Promise<string>): Promise<string[]> {
  const mark = `/__mark-${++marks}`;
  await fetch(`${url}${mark}`).then((r) => r.body?.cancel());
  for (let tries = 0; ; tries++) {
    const paths = [...(await readLog()).matchAll(/"GET (\S+) HTTP\/1\.[01]"/g)].map((m) => m[1]!);
    const at = paths.indexOf(mark);
    if (at >= 0) return paths.slice(0, at).filter((p) => !p.startsWith("/__"));
    if (tries > 200) throw new Error(`the server never logged ${mark}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** `python3 -m http.server` over `dir` on a free port; its request log comes from its stderr. */
async function startPython(dir: string): Promise<LoggedServer> {
  const child = spawn(PYTHON, ["-u", "-m", "http.server", "--bind", "127.0.0.1", "0", "--directory", dir], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  child.stderr!.on("data", (chunk: Buffer) => (log += chunk.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`python http.server did not start: ${out} ${log}`)), 20_000);
    child.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const match = /port (\d+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.once("exit", (code) => reject(new Error(`python http.server exited (${code}): ${log}`)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    requests: () => settledRequests(`http://127.0.0.1:${port}`, async () => log),
    stop: () => stopChild(child),
  };
}

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });

/** nginx with `autoindex on` over `dir`, one process in the foreground, logging to a file. */
async function startNginx(dir: string, scratch: string): Promise<LoggedServer> {
  await mkdir(join(scratch, "logs"), { recursive: true });
  const port = await freePort();
  const access = join(scratch, "logs", "access.log");
  const temp = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]
    .map((name) => `${name}_temp_path ${join(scratch, name)};`)
    .join(" ");
  await writeFile(
    join(scratch, "nginx.conf"),
    `daemon off; master_process off; pid ${join(scratch, "nginx.pid")}; error_log ${join(scratch, "logs", "error.log")};
events {}
http { access_log ${access}; ${temp}
  server { listen 127.0.0.1:${port}; root ${dir}; location / { autoindex on; } } }
`,
  );
  const child = spawn(NGINX!, ["-p", scratch, "-e", "stderr", "-c", join(scratch, "nginx.conf")], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let errors = "";
  child.stderr!.on("data", (chunk: Buffer) => (errors += chunk.toString()));
  const url = `http://127.0.0.1:${port}`;
  for (let tries = 0; ; tries++) {
    if (child.exitCode !== null) throw new Error(`nginx exited: ${errors}`);
    const up = await fetch(`${url}/__up`).then(
      (r) => r.body?.cancel().then(() => true),
      () => false,
    );
    if (up) break;
    if (tries > 100) throw new Error(`nginx did not start: ${errors}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url,
    requests: () => settledRequests(url, () => readFile(access, "utf8")),
    stop: () => stopChild(child),
  };
}

// ---------------------------------------------------------------------------------------------

/** Lists exactly the tree's keys and reads each byte for byte; no request leaves `/docs/`, each folder is asked for once. */
async function checkServer(server: LoggedServer, tree: Tree): Promise<void> {
  const store = createStore(`${server.url}/docs/`, { serialization: "raw" });
  expect(await collect(store.keys())).toEqual([...tree.files.keys()].sort());
  for (const [key, bytes] of tree.files) {
    expect(Buffer.from((await store.get(key)) as Uint8Array).equals(bytes), key).toBe(true);
  }
  const requests = await server.requests();
  expect(requests.filter((p) => !p.startsWith("/docs/"))).toEqual([]);
  expect(folderRequests(requests).sort()).toEqual(treeFolders(tree));

  // A prefix crawls from its folder only.
  const before = (await server.requests()).length;
  const under = [...tree.files.keys()].filter((k) => k.startsWith("x#y/")).sort();
  expect(await collect(store.keys({ prefix: "x#y" }))).toEqual(under);
  const since = (await server.requests()).slice(before);
  expect(folderRequests(since).sort()).toEqual(["/docs/x#y/", "/docs/x#y/50%/", "/docs/x#y/50%/r&d/"]);
  expect(await collect(store.keys({ prefix: "x#y", glob: "50%/**/*.txt" }))).toEqual(
    under.filter((k) => k.startsWith("x#y/50%/") && k.endsWith(".txt")),
  );
  expect(await collect(store.keys({ prefix: "no such folder" }))).toEqual([]);
}

describe("crawling python3 -m http.server", () => {
  let tree: Tree;
  let server: LoggedServer;
  beforeAll(async () => {
    tree = await writeTree(join(TMP, `crawl-python-${process.pid}`));
    server = await startPython(tree.root);
  });
  afterAll(async () => {
    await server?.stop();
    await rm(tree.root, { recursive: true, force: true });
  });

  it("lists exactly the 200 keys, reads each byte for byte, asks for nothing outside the base", async () => {
    await checkServer(server, tree);
  });

  it("mirrors the site into a directory", async () => {
    const target = join(TMP, `crawl-mirror-${process.pid}`);
    try {
      const result = await mirror(createStore(`${server.url}/docs`), createStore(target));
      expect(result).toMatchObject({ mirrored: 200, failed: 0 });
      for (const [key, bytes] of tree.files) expect((await readFile(join(target, key))).equals(bytes), key).toBe(true);
    } finally {
      await rm(target, { recursive: true, force: true });
    }
  });

  it("anystore mirror -i http://... -o DIR (the built CLI) copies the site", async () => {
    buildIfStale();
    const target = join(TMP, `crawl-cli-${process.pid}`);
    try {
      const run = spawnSync(
        process.execPath,
        [join(ROOT, "dist/cli/main.js"), "mirror", "-i", `${server.url}/docs/`, "-o", target],
        { encoding: "utf8", timeout: 120_000 },
      );
      expect(run.status, run.stderr).toBe(0);
      for (const [key, bytes] of tree.files) expect((await readFile(join(target, key))).equals(bytes), key).toBe(true);
      const listed = spawnSync(
        process.execPath,
        [join(ROOT, "dist/cli/main.js"), "--store", `${server.url}/docs/`, "keys", "--prefix", "a b"],
        { encoding: "utf8", timeout: 60_000 },
      );
      expect(listed.stdout.split("\n").filter(Boolean).sort()).toEqual(
        [...tree.files.keys()].filter((k) => k.startsWith("a b/")).sort(),
      );
    } finally {
      await rm(target, { recursive: true, force: true });
    }
  }, 600_000);

  it("fails at an unreachable or missing base, lists nothing for a missing prefix", async () => {
    await rejectsWith(collect(createStore(`${server.url}/no-such-folder/`).keys()), "NOT_FOUND");
    await rejectsWith(collect(createStore(`http://127.0.0.1:${await freePort()}/`).keys()), "CONNECTION");
    // A file is not an index page.
    await rejectsWith(collect(createStore(`${server.url}/secret.txt`).keys()), "NOT_FOUND");
  });
});

describe.skipIf(!NGINX)("crawling nginx with autoindex on (skipped: nginx not installed)", () => {
  let tree: Tree;
  let server: LoggedServer;
  beforeAll(async () => {
    tree = await writeTree(join(TMP, `crawl-nginx-${process.pid}`));
    server = await startNginx(tree.root, join(TMP, `crawl-nginx-run-${process.pid}`));
  });
  afterAll(async () => {
    await server?.stop();
    await rm(tree.root, { recursive: true, force: true });
    await rm(join(TMP, `crawl-nginx-run-${process.pid}`), { recursive: true, force: true });
  });

  it("lists exactly the 200 keys, reads each byte for byte, asks for nothing outside the base", async () => {
    await checkServer(server, tree);
  });
});

/** Builds dist/ when it is missing or older than src (as test/node/cli.test.ts does). */
function buildIfStale(): void {
  const cli = join(ROOT, "dist/cli/main.js");
  let newest = 0;
  for (const entry of readdirSync(join(ROOT, "src"), { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name.endsWith(".ts"))
      newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  if (existsSync(cli) && statSync(cli).mtimeMs >= newest) return;
  const build = spawnSync("npm", ["run", "build"], { cwd: ROOT, encoding: "utf8", timeout: 540_000 });
  if (build.status !== 0) throw new Error(`npm run build failed:\n${build.stdout}\n${build.stderr}`);
}

// ---------------------------------------------------------------------------------------------

describe("crawling a hostile site", () => {
  let site: HostileSite;
  let other: TestServer;
  beforeAll(async () => {
    other = await startBystander();
    site = await startHostileSite(other.origin);
  });
  afterAll(async () => {
    await site?.close();
    await other?.close();
  });

  it("follows only links under the base, each page once, within its limits", async () => {
    const skipped: CrawlSkip[] = [];
    // Deadlines loose enough for a busy machine: only the endless and trickling pages reach them.
    const store = createStore(site.base, {
      maxDepth: 3,
      timeout: 2000,
      pageTimeout: 5000,
      onSkip: (s: CrawlSkip) => skipped.push(s),
    });
    const keys = await collect(store.keys());
    expect(keys.length).toBe(hostileKeys().length);
    expect(keys).toEqual(hostileKeys());

    expect(other.requests).toEqual([]);
    expect(site.requests.filter((p) => !p.startsWith("/site/"))).toEqual([]);
    const folders = folderRequests(site.requests);
    expect(new Set(folders).size).toBe(folders.length); // each page once
    expect(folders.sort()).toEqual(
      [
        "",
        "loop/a/",
        "loop/b/",
        "many/",
        "malformed/",
        "deep/",
        "deep/d/",
        "deep/d/d/",
        "endless/",
        "trickle/",
        "missing/",
        "binary/",
        "bad/",
        "away/",
        "moved/",
        "subdir/",
        "target/",
        "indexed/",
        "spin/",
      ]
        .map((p) => `/site/${p}`)
        .sort(),
    );
    // Listing reads no file, but follows a redirect to a page of the same folder (a few hops at most).
    expect(site.requests.filter((p) => !p.endsWith("/")).sort()).toEqual([
      "/site/indexed/index.html",
      "/site/spin/a.html",
      "/site/spin/a.html",
      "/site/spin/b.html",
    ]);

    const reasons = Object.fromEntries(skipped.map((s) => [s.url.slice(site.base.length), s.reason]));
    expect(reasons).toMatchObject({
      "endless/": expect.stringContaining("nothing for 2000 ms"),
      "trickle/": expect.stringContaining("not done within 5000 ms"),
      "missing/": "HTTP 404",
      "binary/": expect.stringContaining("not HTML"),
      "away/": expect.stringContaining("redirects to"),
      "spin/": expect.stringContaining("redirects to"),
      "deep/d/d/d/": expect.stringContaining("maxDepth"),
    });
    expect(await store.get("malformed/amp&ersand.txt")).toBe("content of /site/malformed/amp&ersand.txt");
  });

  it("stops an endless chain of folders at maxDepth (16 by default)", async () => {
    const keys = await collectPages(crawlKeys(`${site.base}deep/`));
    expect(keys).toEqual(Array.from({ length: 17 }, (_, depth) => `${"d/".repeat(depth)}f.txt`).sort());
    expect(await collectPages(crawlKeys(`${site.base}deep`, { maxDepth: 0 }))).toEqual(["f.txt"]);
  });

  it("caps pages and links", async () => {
    const before = site.requests.length;
    const skipped: CrawlSkip[] = [];
    const keys = await collectPages(crawlKeys(`${site.base}deep/`, { maxPages: 5, onSkip: (s) => skipped.push(s) }));
    expect(keys.length).toBe(5);
    expect(site.requests.length - before).toBe(5);
    expect(skipped.map((s) => s.reason)).toEqual([expect.stringContaining("maxPages")]);

    const many = await collectPages(
      crawlKeys(`${site.base}many/`, { maxLinksPerPage: 100, onSkip: (s) => skipped.push(s) }),
    );
    expect(many).toEqual(Array.from({ length: 100 }, (_, i) => `f${String(i).padStart(5, "0")}.txt`));
    expect(skipped.at(-1)!.reason).toContain("maxLinksPerPage");
    const cut = await collectPages(
      crawlKeys(`${site.base}many/`, { maxPageBytes: 1000, onSkip: (s) => skipped.push(s) }),
    );
    expect(cut.length).toBeGreaterThan(0);
    expect(cut.length).toBeLessThan(100);
    expect(skipped.at(-1)!.reason).toContain("maxPageBytes");
  });

  it("crawls from base/prefix/ only, and an aborted crawl rejects with the reason", async () => {
    const before = site.requests.length;
    expect(await collect(createStore(site.base).keys({ prefix: "loop" }))).toEqual(["loop/a/a1.txt", "loop/b/b1.txt"]);
    expect(site.requests.slice(before).sort()).toEqual(["/site/loop/", "/site/loop/a/", "/site/loop/b/"]);

    const controller = new AbortController();
    const reason = new Error("enough");
    const crawl = crawlKeys(site.base, { signal: controller.signal, timeout: 60_000 });
    const pages = crawl[Symbol.asyncIterator]();
    await pages.next();
    controller.abort(reason);
    await expect(collectPages({ [Symbol.asyncIterator]: () => pages })).rejects.toBe(reason);
  });

  it("a consumer that stops early stops the crawl", async () => {
    const store = createStore(site.base, { timeout: 60_000, concurrency: 1 });
    for await (const key of store.keys()) {
      expect(key).toBe("top.txt"); // the start page's first file
      break;
    }
    const before = site.requests.length;
    // Anything still in flight settles; nothing new starts (one round trip of slack).
    await fetch(`${site.origin}/site/top.txt`).then((r) => r.text());
    expect(site.requests.length - before).toBeLessThanOrEqual(2);
  });

  it("reports error statuses and non-index pages at the base as typed errors", async () => {
    await rejectsWith(collect(createStore(`${site.base}missing/`).keys()), "NOT_FOUND");
    await rejectsWith(collect(createStore(`${site.base}binary/`).keys()), "UNSUPPORTED");
    await rejectsWith(collect(createStore(`${site.base}away/`).keys()), "UNSUPPORTED");
    await rejectsWith(collect(createStore(`${site.base}endless/`, { timeout: 300 }).keys()), "CONNECTION");
    await rejectsWith(collect(createStore(`${site.base}moved/`).keys()), "UNSUPPORTED"); // redirected out of this base
    await expect(collect(createStore(site.base, { maxDepth: -1 }).keys())).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
    });
  });
});

describe("the link tokenizer", () => {
  it("reads hrefs of <a> tags only, through malformed HTML", () => {
    const html = `<a href=one>1</a><A  HREF = 'two' >2</A><a\thref="three"/><a name=x><a href="" >
      <!-- <a href="no"> --><script><a href="no"></script ><SCRIPT type=x>"</scripty><a href=no></SCRIPT>
      <img href="no"><a href="four"<b><a href=five`;
    expect(extractLinks(html).links).toEqual(["one", "two", "three", "", "four", "five"]);
    expect(extractLinks(html, 2)).toEqual({ links: ["one", "two"], truncated: true });
    expect(extractLinks("<a href='x'><!-- unclosed <a href='y'>").links).toEqual(["x"]);
    expect(extractLinks("<<a<a href=x>").links).toEqual([]); // a tag named "a<a", as the HTML tokenizer reads it
  });

  it("decodes character references as the HTML tokenizer does", () => {
    expect(decodeEntities("a&amp;b&#32;c&#x41;&lt;&gt;&quot;&apos;&percnt;")).toBe("a&b cA<>\"'%");
    expect(decodeEntities("?x=1&amp=2&ampx&unknown;&#0;")).toBe("?x=1&amp=2&ampx&unknown;\ufffd");
    expect(decodeEntities("&amp &lt")).toBe("& <");
  });
});
