/**
 * The built `anystore` command, run as users run it: `node dist/cli/main.js` in a child process.
 * `npm run build` runs first when dist is missing or older than src.
 */

import type { ChildProcess } from "node:child_process";
import { spawn, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureBuilt } from "./packed.js";

const ROOT = process.cwd();
const CLI = join(ROOT, "dist/cli/main.js");
/**
 * Scratch space outside test/.tmp: every vitest run's global setup empties test/.tmp, and other
 * runs on this machine would pull files from under these (slower, multi-process) tests.
 */
let TMP = "";
let counter = 0;
const freshDir = async () => {
  const dir = join(TMP, `cli-${++counter}`);
  await mkdir(dir, { recursive: true });
  return dir;
};

interface Run {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

/** Runs the CLI; bounded by a timeout so a hang fails the test instead of stalling it. */
function run(
  args: string[],
  opts: { input?: string | Buffer; env?: Record<string, string>; cwd?: string } = {},
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: opts.cwd ?? ROOT,
      env: { ...process.env, DEBUG: "", ANYSTORE_URI: "", ANYSTORE_TOKEN: "", ...opts.env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    const out: Buffer[] = [];
    let err = "";
    child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => (err += chunk.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out), stderr: err });
    });
    child.stdin.end(opts.input ?? "");
  });
}

beforeAll(async () => {
  TMP = await mkdtemp(join(tmpdir(), "anystore-cli-test-"));
}, 10_000);
afterAll(() => rm(TMP, { recursive: true, force: true }));

beforeAll(ensureBuilt, 600_000);

describe("anystore get/put", () => {
  it("put foo bar then get foo prints exactly bar", async () => {
    const store = await freshDir();
    expect((await run(["--store", store, "put", "foo", "bar"])).code).toBe(0);
    const got = await run(["--store", store, "get", "foo"]);
    expect(got.code).toBe(0);
    expect(got.stdout.toString()).toBe("bar");
    expect(got.stderr).toBe("");
    // Values that look like JSON stay bytes.
    await run(["--store", store, "put", "n", "123"]);
    expect((await run(["--store", store, "get", "n"])).stdout.toString()).toBe("123");
  });

  it("stores stdin when neither VALUE nor -i is given, and files with -i; get -o writes a file", async () => {
    const store = await freshDir();
    expect((await run(["--store", store, "put", "k"], { input: "hi\n" })).code).toBe(0);
    expect((await run(["--store", store, "get", "k"])).stdout.toString()).toBe("hi\n");

    const bytes = randomBytes(300_000);
    const file = join(store, "..", `in-${process.pid}-${counter}.bin`);
    await writeFile(file, bytes);
    expect((await run(["--store", store, "put", "bin/data", "-i", file])).code).toBe(0);
    expect((await run(["--store", store, "get", "bin/data"])).stdout.equals(bytes)).toBe(true);
    const out = `${file}.out`;
    expect((await run(["--store", store, "get", "bin/data", "-o", out])).code).toBe(0);
    expect((await readFile(out)).equals(bytes)).toBe(true);
  });

  it("takes the store from ANYSTORE_URI, else .anystore in the working directory", async () => {
    const store = await freshDir();
    await run(["put", "env-key", "from env"], { env: { ANYSTORE_URI: store } });
    expect((await run(["--store", store, "get", "env-key"])).stdout.toString()).toBe("from env");
    const cwd = await freshDir();
    await run(["put", "default-key", "v"], { cwd });
    expect((await readFile(join(cwd, ".anystore", "default-key"))).toString()).toBe("v");
  });
});

describe("anystore keys/info/checksum/delete", () => {
  let store: string;
  beforeAll(async () => {
    store = await freshDir();
    for (const [key, value] of [
      ["a.txt", "A"],
      ["docs/one.md", "1"],
      ["docs/two.md", "22"],
      ["docs/deep/three.json", "{}"],
      ["dx", "x"],
    ]) {
      await run(["--store", store, "put", key!, value!]);
    }
  });
  const lines = (r: Run) => r.stdout.toString().split("\n").filter(Boolean).sort();

  it("lists keys with --prefix, --exclude-prefix and --glob", async () => {
    expect(lines(await run(["--store", store, "keys"]))).toEqual([
      "a.txt",
      "docs/deep/three.json",
      "docs/one.md",
      "docs/two.md",
      "dx",
    ]);
    expect(lines(await run(["--store", store, "keys", "--prefix", "docs"]))).toEqual([
      "docs/deep/three.json",
      "docs/one.md",
      "docs/two.md",
    ]);
    expect(lines(await run(["--store", store, "keys", "--exclude-prefix", "d"]))).toEqual(["a.txt"]);
    expect(lines(await run(["--store", store, "keys", "--glob", "**/*.md"]))).toEqual(["docs/one.md", "docs/two.md"]);
    expect(lines(await run(["--store", store, "keys", "--prefix", "docs", "--glob", "*.md"]))).toEqual([
      "docs/one.md",
      "docs/two.md",
    ]);
  });

  it("--info prints one JSON object per line", async () => {
    const infos = lines(await run(["--store", store, "keys", "--prefix", "docs", "--info"])).map((l) => JSON.parse(l));
    expect(infos.map((i) => [i.key, i.size]).sort()).toEqual([
      ["docs/deep/three.json", 2],
      ["docs/one.md", 1],
      ["docs/two.md", 2],
    ]);
    expect(infos.find((i) => i.key === "docs/one.md")).toMatchObject({ name: "one.md", contentType: "text/markdown" });
  });

  it("info prints JSON, checksum prints hex, delete removes", async () => {
    const info = JSON.parse((await run(["--store", store, "info", "docs/two.md"])).stdout.toString());
    expect(info).toMatchObject({ key: "docs/two.md", size: 2 });
    const sha = createHash("sha256").update("22").digest("hex");
    expect((await run(["--store", store, "checksum", "docs/two.md"])).stdout.toString()).toBe(`${sha}\n`);
    const md5 = createHash("md5").update("22").digest("hex");
    expect((await run(["--store", store, "checksum", "docs/two.md", "--algorithm", "md5"])).stdout.toString()).toBe(
      `${md5}\n`,
    );
    await run(["--store", store, "put", "gone", "soon"]);
    expect((await run(["--store", store, "delete", "gone"])).code).toBe(0);
    expect((await run(["--store", store, "delete", "gone"])).code).toBe(0);
    expect((await run(["--store", store, "get", "gone"])).code).toBe(1);
  });
});

describe("anystore errors", () => {
  it("prints one line and exits 1; DEBUG=1 adds the stack", async () => {
    const store = await freshDir();
    const missing = await run(["--store", store, "get", "foo"]);
    expect(missing.code).toBe(1);
    expect(missing.stdout.length).toBe(0);
    expect(missing.stderr).toBe("NotFoundError: key does not exist: foo\n");
    const invalid = await run(["--store", store, "put", "../escape", "x"]);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toMatch(/^InvalidKeyError: [^\n]+\n$/);
    const algorithm = await run(["--store", store, "checksum", "foo", "--algorithm", "crc"]);
    expect(algorithm.stderr).toMatch(/^InvalidArgumentError: [^\n]+\n$/);
    const debug = await run(["--store", store, "get", "foo"], { env: { DEBUG: "1" } });
    expect(debug.code).toBe(1);
    expect(debug.stderr).toMatch(/^NotFoundError: key does not exist: foo\n\s+at /);
    const unknown = await run(["frobnicate"]);
    expect(unknown.code).toBe(1);
  });

  it("ends quietly with 0 when the reader closes the pipe early", async () => {
    const store = await freshDir();
    const file = join(store, "..", `big-${process.pid}-${counter}.bin`);
    await writeFile(file, randomBytes(8 * 1024 * 1024));
    await run(["--store", store, "put", "big", "-i", file]);
    const child = spawn(process.execPath, [CLI, "--store", store, "get", "big"], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.once("data", () => child.stdout.destroy());
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    expect(stderr).toBe("");
    expect(code).toBe(0);
  });
});

describe("anystore io and mirror", () => {
  it("io copies uri to uri, and stdin/stdout with -", async () => {
    const a = await freshDir();
    const b = await freshDir();
    await run(["--store", a, "put", "docs/x.txt", "payload"]);
    expect((await run(["io", "-i", `${a}/docs/x.txt`, "-o", `${b}/copy/x.txt`])).code).toBe(0);
    expect((await readFile(join(b, "copy/x.txt"))).toString()).toBe("payload");
    expect((await run(["io", "-o", `${b}/from-stdin`], { input: "piped\n" })).code).toBe(0);
    expect((await run(["io", "-i", `${b}/from-stdin`])).stdout.toString()).toBe("piped\n");
  });

  it("smartRead('-') reads stdin and smartWrite('-') writes stdout (the built package)", async () => {
    const entry = JSON.stringify(join(ROOT, "dist/index.node.js"));
    const code = `import { smartRead, smartWrite } from ${entry}; const text = await smartRead("-", "r"); await smartWrite("-", text.toUpperCase());`;
    const child = spawn(process.execPath, ["--input-type=module", "-e", code], { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (err += chunk.toString()));
    child.stdin.end("hello from stdin");
    const code_ = await new Promise<number | null>((resolve) => child.on("close", resolve));
    expect(err).toBe("");
    expect(code_).toBe(0);
    expect(out).toBe("HELLO FROM STDIN");
  });

  it("mirror -i DIR -o sqlite copies every key; again skips all; --overwrite copies all again", async () => {
    const source = await freshDir();
    const keys = ["a", "b/c", "b/d/e.json", "f.txt"];
    for (const key of keys) await run(["--store", source, "put", key, `value of ${key}`]);
    const db = `sqlite:///${join(await freshDir(), "b.db")}`;
    const first = await run(["mirror", "-i", source, "-o", db, "--concurrency", "3"]);
    expect(first.code).toBe(0);
    expect(first.stderr).toMatch(/^mirrored 4, skipped 0, failed 0, /m);
    const listed = (await run(["--store", db, "keys"])).stdout.toString().split("\n").filter(Boolean).sort();
    expect(listed).toEqual(keys);
    expect((await run(["--store", db, "get", "b/d/e.json"])).stdout.toString()).toBe("value of b/d/e.json");
    expect((await run(["mirror", "-i", source, "-o", db])).stderr).toMatch(/^mirrored 0, skipped 4, failed 0, /m);
    expect((await run(["mirror", "-i", source, "-o", db, "--overwrite"])).stderr).toMatch(
      /^mirrored 4, skipped 0, failed 0, /m,
    );
    const filtered = await freshDir();
    expect(
      (await run(["mirror", "-i", source, "-o", filtered, "--prefix", "b", "--glob", "**/*.json"])).stderr,
    ).toMatch(/^mirrored 1, /m);
  });
});

describe("anystore --version and a mirror that cannot write", () => {
  it("--version prints the package's version", async () => {
    const { version } = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8"));
    const { code, stdout } = await run(["--version"]);
    expect(code).toBe(0);
    expect(stdout.toString().trim()).toBe(version);
  });

  it("mirror on a terminal draws its bar only once keys are found, counting them as the listing finds them", async () => {
    const source = await freshDir();
    await mkdir(join(source, "f"), { recursive: true });
    await Promise.all(Array.from({ length: 300 }, (_, i) => writeFile(join(source, "f", `${i}.txt`), `file ${i}`)));
    const target = await freshDir();
    // util-linux `script` gives the command a terminal, as a user's shell would.
    const command = [process.execPath, CLI, "mirror", "-i", source, "-o", target].map((a) => `'${a}'`).join(" ");
    const { status, stdout } = spawnSync("script", ["-qec", command, "/dev/null"], {
      encoding: "utf8",
      timeout: 30_000,
    });
    expect(status).toBe(0);
    const frames = [...stdout.matchAll(/mirror \S+ (\d+)\/(\d+)(\+?) keys/g)].map((m) => [
      Number(m[1]),
      Number(m[2]),
      m[3],
    ]);
    expect(frames.length).toBeGreaterThan(0);
    for (const [done, total] of frames) expect(total).toBeGreaterThanOrEqual(Math.max(done as number, 1));
    expect(frames.at(-1)).toEqual([300, 300, ""]);
    expect(stdout).toMatch(/mirrored 300, skipped 0, failed 0/);
  });

  it("mirror into a target that cannot be reached prints one line for it, not one per key", async () => {
    const source = await freshDir();
    const files = Array.from({ length: 300 }, (_, i) => [`f/${i}.txt`, `file ${i}`]);
    await mkdir(join(source, "f"), { recursive: true });
    await Promise.all(files.map(([key, value]) => writeFile(join(source, key as string), value as string)));
    const { code, stderr } = await run(["mirror", "-i", source, "-o", "redis://127.0.0.1:1/0/first-cli"]);
    expect(code).toBe(1);
    const lines = stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    // mirror lists the target first (to skip what is there), so it fails before any key.
    expect(lines[0]).toMatch(/^ConnectionError: redis at 127\.0\.0\.1:1\/0 is unreachable/);
  });
});

describe("anystore serve", () => {
  let server: ChildProcess | undefined;
  let url = "";
  let dir = "";
  const TOKEN = `t-${process.pid}`;

  beforeAll(async () => {
    dir = await freshDir();
    await run(["--store", dir, "put", "hello.txt", "from the server"]);
    server = spawn(process.execPath, [CLI, "--store", dir, "serve", "--port", "0", "--token", TOKEN], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    url = await new Promise<string>((resolve, reject) => {
      let seen = "";
      const timer = setTimeout(() => reject(new Error(`serve did not start: ${seen}`)), 20_000);
      server!.stderr!.on("data", (chunk: Buffer) => {
        seen += chunk.toString();
        const match = /\((anystore\+http:\/\/127\.0\.0\.1:\d+)\)/.exec(seen);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]!);
        }
      });
      server!.on("exit", (code) => reject(new Error(`serve exited with ${code}: ${seen}`)));
    });
  }, 30_000);

  afterAll(async () => {
    if (!server || server.exitCode !== null) return;
    const exited = new Promise((resolve) => server!.on("exit", resolve));
    server.kill("SIGTERM");
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
    if (server.exitCode === null) server.kill("SIGKILL");
  });

  it("a second anystore reads and writes through it with the token", async () => {
    const got = await run(["--store", url, "--token", TOKEN, "get", "hello.txt"]);
    expect(got.stderr).toBe("");
    expect(got.stdout.toString()).toBe("from the server");
    expect((await run(["--store", url, "--token", TOKEN, "put", "remote/k", "written remotely"])).code).toBe(0);
    expect((await readFile(join(dir, "remote/k"))).toString()).toBe("written remotely");
    const keys = await run(["--store", url, "keys"], { env: { ANYSTORE_TOKEN: TOKEN } });
    expect(keys.stdout.toString().split("\n").filter(Boolean).sort()).toEqual(["hello.txt", "remote/k"]);
  });

  it("refuses a client without the token: one line, exit 1", async () => {
    const denied = await run(["--store", url, "get", "hello.txt"]);
    expect(denied.code).toBe(1);
    expect(denied.stderr.trim().split("\n")).toHaveLength(1);
    expect(denied.stdout.length).toBe(0);
  });
});
