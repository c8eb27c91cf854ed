/**
 * A backend client that is not installed (SPEC 3, issue 13): the packed package in a project
 * whose node_modules has anystore's own dependencies and none of its optional peers (ioredis,
 * pg, mysql2, @libsql/client), so Node really fails to resolve them. Each uri then fails with
 * UnsupportedError naming the package and `npm i <package>`, and the CLI prints one line for it,
 * also for a mirror of many keys.
 */
import { execFile } from "node:child_process";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { consumerProject, DEPENDENCIES, outsideScratch, packedPackage } from "./packed.js";

let scratch = "";
let project = "";

beforeAll(async () => {
  scratch = await outsideScratch("missing-peer");
  project = await consumerProject(join(scratch, "app"), await packedPackage(scratch), DEPENDENCIES);
}, 600_000);
afterAll(() => rm(scratch, { recursive: true, force: true }));

/** Runs `node args` in the project; resolves to its exit code and output (never rejects). */
function node(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return promisify(execFile)(process.execPath, args, {
    cwd: project,
    timeout: 30_000,
    env: { ...process.env, DEBUG: "" },
  }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );
}

const CLI = "node_modules/anystore/dist/cli/main.js";

describe("a missing optional peer", () => {
  it.each([
    ["redis://127.0.0.1:6379/0/first-missing-peer", "ioredis"],
    ["sqlite:///first-missing-peer.db", "@libsql/client"],
    ["postgresql://127.0.0.1:5432/test", "pg"],
    ["mysql://root@127.0.0.1:3306/test", "mysql2"],
  ])("%s: UnsupportedError naming %s and how to install it", async (uri, name) => {
    const script = `import { createStore } from "anystore";
try { await createStore(${JSON.stringify(uri)}).get("k"); console.log("no error"); }
catch (error) { console.log(JSON.stringify({ name: error.name, code: error.code, message: error.message })); }`;
    await writeFile(join(project, "probe.mjs"), script);
    const { stdout } = await node(["probe.mjs"]);
    const error = JSON.parse(stdout);
    expect(error).toMatchObject({ name: "UnsupportedError", code: "UNSUPPORTED" });
    expect(error.message).toContain(`"${name}"`);
    expect(error.message).toContain(`npm i ${name}`);
  });

  it("the CLI prints one line with the install command", async () => {
    const { code, stdout, stderr } = await node([
      CLI,
      "--store",
      "redis://127.0.0.1:6379/0/first-missing-peer",
      "get",
      "k",
    ]);
    expect(code).toBe(1);
    expect(stdout).toBe("");
    expect(stderr).toMatch(
      /^UnsupportedError: redis:\/\/ stores need the package "ioredis" .*: run `npm i ioredis`\n$/,
    );
  });

  it("anystore mirror into that store stops at once with one line, not one per key", async () => {
    const source = join(project, "files");
    await mkdir(join(source, "docs"), { recursive: true });
    for (let i = 0; i < 500; i++) await writeFile(join(source, "docs", `${i}.txt`), `file ${i}`);
    const { code, stderr } = await node([
      CLI,
      "mirror",
      "-i",
      source,
      "-o",
      "redis://127.0.0.1:6379/0/first-missing-peer",
    ]);
    expect(code).toBe(1);
    const lines = stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain("npm i ioredis");
    expect(lines[0]).toContain("mirror stopped: 5 keys in a row failed with this; 0 mirrored, 0 skipped");
  });
});
