/**
 * `serve` under hostile requests, sent raw over `node:net`: every request gets a well-formed
 * status line (or, for protocol garbage, a closed socket), nothing lands outside the store's
 * root, no answer shows a server path or a stack, and the server keeps answering.
 */

import { mkdir, readdir, readFile, realpath, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Driver, RunningServer, ServeOptions, Store } from "../../src/index.node.js";
import {
  AnystoreError,
  ConnectionError,
  createHandler,
  createStore,
  serve,
  UnsupportedError,
} from "../../src/index.node.js";
import type { Case } from "./hostile-corpus.js";
import { buildCorpus, buildGlobCorpus, MARK, TOKEN } from "./hostile-corpus.js";
import type { RawReply } from "./raw-http.js";
import { exchange, rawRequest, STATUS_LINE } from "./raw-http.js";
import { TMP } from "./tmp.js";

/** Runs `work` over `items`, `limit` at a time. */
async function pool<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const lanes = Array.from({ length: limit }, async () => {
    while (next < items.length) {
      const at = next++;
      results[at] = await work(items[at]!);
    }
  });
  await Promise.all(lanes);
  return results;
}

/** Every file and folder name under `dir`, recursively (missing folders are empty). */
async function namesUnder(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { recursive: true })).map(String);
  } catch {
    return [];
  }
}

interface Target {
  port: number;
  /** The Authorization line to add, for the authenticated runs. */
  auth?: string;
}

/** The case with an Authorization header after Host, when it has one to put it after. */
function authenticated(c: Case, auth: string | undefined): Case | undefined {
  if (!auth) return c;
  const text = typeof c.data === "string" ? c.data : "";
  const at = text.indexOf("\r\nHost: ");
  if (at < 0) return undefined;
  return { ...c, name: `${c.name} (authenticated)`, data: `${text.slice(0, at + 2)}${auth}\r\n${text.slice(at + 2)}` };
}

/** Sends every case to every target, 8 at a time; returns what went wrong, one line each. */
async function attack(corpus: Case[], targets: Target[], secrets: string[]): Promise<string[]> {
  const runs: Array<{ port: number; c: Case }> = [];
  for (const { port, auth } of targets) {
    for (const c of corpus) {
      const sent = authenticated(c, auth);
      if (sent) runs.push({ port, c: sent });
    }
  }
  const replies = await pool(runs, 8, ({ port, c }) => exchange(port, c.data, { waitMs: 15_000 }));
  const problems: string[] = [];
  replies.forEach((reply: RawReply, i) => {
    const { c } = runs[i]!;
    const head = JSON.stringify(reply.text.slice(0, 80));
    if (!reply.closed) problems.push(`${c.name}: no end of answer and socket still open after ${reply.ms} ms: ${head}`);
    if (reply.text !== "" && !STATUS_LINE.test(reply.text)) problems.push(`${c.name}: not a status line: ${head}`);
    if (c.answered && reply.status === undefined) problems.push(`${c.name}: no answer`);
    if (reply.status !== undefined && reply.status >= 500 && reply.status !== 501 && reply.status !== 503)
      problems.push(`${c.name}: ${head}`);
    for (const secret of secrets) if (reply.text.includes(secret)) problems.push(`${c.name}: answer shows ${secret}`);
    if (/\n\s+at |node:internal|ENAMETOOLONG|ENOENT/.test(reply.text))
      problems.push(`${c.name}: answer shows internals: ${head}`);
  });
  return problems;
}

describe("serve under a hostile-request corpus", () => {
  let base: string;
  const servers: RunningServer[] = [];
  const secrets: string[] = [];
  const deadlines = {
    headersTimeout: 3000,
    requestTimeout: 10_000,
    bodyTimeout: 2000,
    minBodyRate: 1,
    connectionsCheckingInterval: 250,
  };
  const port = (server: RunningServer) => Number(new URL(server.url).port);

  /** A store in `base/name` with a few short keys, served without and with a token. */
  async function served(name: string): Promise<[RunningServer, RunningServer]> {
    const store: Store = createStore(join(base, name));
    await store.put("hello", "world");
    await store.put("a/b", "ab");
    await store.put("ab", "x");
    await store.put("canary", "alive"); // no case names it: still there after the attack
    const pair: [RunningServer, RunningServer] = [
      await serve(store, deadlines),
      await serve(store, { ...deadlines, token: TOKEN }),
    ];
    servers.push(...pair);
    return pair;
  }

  /** A plain GET after the attack still gets the value no case touched. */
  async function stillUp(server: RunningServer, auth: boolean): Promise<void> {
    const headers = auth ? [`Authorization: Bearer ${TOKEN}`] : [];
    const reply = await exchange(port(server), rawRequest("GET", "/canary", headers));
    expect(reply.status).toBe(200);
    expect(reply.text.endsWith("\r\n\r\nalive")).toBe(true);
  }

  beforeAll(async () => {
    base = join(TMP, `hostile-${process.pid}`);
    await mkdir(join(base, "outside"), { recursive: true });
    await writeFile(join(base, "outside", "sentinel"), "untouched");
    secrets.push(base, await realpath(base), process.cwd(), tmpdir());
  });

  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
  });

  it("answers every request, writes nothing outside the root, leaks no path, and stays up", async () => {
    const [open, guarded] = await served("root");
    const corpus = buildCorpus();
    expect(corpus.length).toBeGreaterThan(500);
    const auth = `Authorization: Bearer ${TOKEN}`;
    // The token server twice: refused before authentication, then the same input past it.
    const problems = await attack(
      corpus,
      [{ port: port(open) }, { port: port(guarded) }, { port: port(guarded), auth }],
      secrets,
    );
    expect(problems).toEqual([]);

    // Nothing outside the root: no marker anywhere around it, the neighbour untouched.
    const around = [
      ...(await namesUnder(join(base, "outside"))),
      ...(await readdir(base)),
      ...(await readdir(TMP)),
      ...(await readdir(tmpdir())),
      ...(await readdir(process.cwd())),
    ];
    expect(around.filter((name) => name.includes(MARK))).toEqual([]);
    expect((await readdir(base)).sort()).toEqual(["outside", "root"]);
    expect(await readFile(join(base, "outside", "sentinel"), "utf8")).toBe("untouched");
    await stillUp(open, false);
    await stillUp(guarded, true);
  }, 300_000);

  it("answers every listing with glob, prefix and exclude_prefix parameters", async () => {
    const [open, guarded] = await served("globs");
    const corpus = buildGlobCorpus();
    expect(corpus.length).toBeGreaterThan(150);
    const problems = await attack(
      corpus,
      [{ port: port(open) }, { port: port(guarded), auth: `Authorization: Bearer ${TOKEN}` }],
      secrets,
    );
    expect(problems).toEqual([]);
    await stillUp(open, false);
    await stillUp(guarded, true);
  }, 120_000);
});

/** A driver whose reads throw `error`. */
function throwing(error: Error): Driver {
  return {
    name: "throwing",
    capabilities: { ttl: true },
    get: async () => {
      throw error;
    },
    put: async () => {},
    delete: async () => {},
    info: async () => {
      throw error;
    },
    list: async function* () {},
  };
}

describe("error answers", () => {
  const servers: RunningServer[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
  });
  async function start(store: Store, options: ServeOptions = {}): Promise<number> {
    const server = await serve(store, options);
    servers.push(server);
    return Number(new URL(server.url).port);
  }

  it("a too-long key segment is 400 (writes) or 404 (reads), never a 500 with the server's path", async () => {
    const dir = join(TMP, `hostile-long-${process.pid}`);
    const port = await start(createStore(dir));
    for (const path of [`/${"a".repeat(256)}`, `/${"a".repeat(256)}/b`, `/a/${"é".repeat(200)}`]) {
      for (const method of ["GET", "HEAD", "PUT", "DELETE", "PATCH"]) {
        const reply = await exchange(port, rawRequest(method, encodeURI(path), [], method === "PUT" ? "x" : ""));
        // Reading a key that cannot exist may also say it is not there.
        const expected = method === "PUT" || method === "PATCH" ? [400] : [400, 404];
        expect([path.slice(-3), method, expected.includes(reply.status!)]).toEqual([path.slice(-3), method, true]);
        expect(reply.text).not.toContain(dir);
      }
    }
  });

  it("keeps paths and backend addresses of errors out of answers; onError gets the details", async () => {
    const cases: Array<[Error, number, string]> = [
      [
        new UnsupportedError("zip archive /srv/data/x.zip spans several disks"),
        501,
        "UnsupportedError: zip archive <path> spans several disks\n",
      ],
      [
        new ConnectionError("redis at 10.0.0.7:6379: connect ECONNREFUSED"),
        503,
        "ConnectionError: the store's backend cannot be reached\n",
      ],
      [
        new TypeError("Cannot read properties of undefined (reading 'x') in /srv/app/x.js"),
        500,
        'AnystoreError: the store failed on key "k"\n',
      ],
    ];
    for (const [error, status, body] of cases) {
      const logged: unknown[] = [];
      const r = await createHandler(createStore({ driver: throwing(error) }), { onError: (e) => logged.push(e) })(
        new Request("http://x/k"),
      );
      expect([r.status, await r.text()]).toEqual([status, body]);
      expect(logged.length).toBe(status >= 500 ? 1 : 0);
    }
  });

  it("x-anystore-store names a local store by its folder only", async () => {
    const dir = join(TMP, `hostile-store-name-${process.pid}`);
    const local = createStore(dir);
    await local.put("k", "v");
    const r = await createHandler(local)(new Request("http://x/k", { method: "HEAD" }));
    expect(r.headers.get("x-anystore-store")).toBe(`hostile-store-name-${process.pid}`);
  });

  it("a throwing cors function or logger is a 500 for that request, and the server stays up", async () => {
    const store = createStore("memory://");
    await store.put("k", "v");
    const port = await start(failingInfo(store), {
      cors: (origin) => {
        if (origin === "https://boom.example") throw new Error("cors callback failed");
        return true;
      },
      onError: () => {
        throw new Error("logger failed");
      },
    });
    const boom = await exchange(port, rawRequest("GET", "/k", ["Origin: https://boom.example"]));
    expect(boom.status).toBe(500);
    expect(boom.text).not.toContain("cors callback failed");
    const failed = await exchange(port, rawRequest("GET", "/fail"));
    expect(failed.status).toBe(500);
    const fine = await exchange(port, rawRequest("GET", "/k", ["Origin: https://app.example"]));
    expect([fine.status, fine.text.endsWith("\r\n\r\nv")]).toEqual([200, true]);
  });
});

/** The store with `info` of key `fail` throwing an IO error that names a server path. */
function failingInfo(store: Store): Store {
  return new Proxy(store, {
    get(target, name) {
      const value = Reflect.get(target, name) as unknown;
      if (typeof value !== "function") return value;
      if (name !== "info") return value.bind(target);
      return async (key: string, ...rest: unknown[]) => {
        if (key === "fail") throw new AnystoreError("EIO: i/o error, open '/srv/data/fail'", { key });
        return (value as (...a: unknown[]) => unknown).call(target, key, ...rest);
      };
    },
  });
}
