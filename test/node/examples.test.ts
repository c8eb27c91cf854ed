/**
 * The README's runnable code blocks. Each one is marked `<!-- example: examples/NAME.mjs -->` in
 * the README and kept, character for character, as that file; this test checks the two agree and
 * runs each Node example twice in a fresh folder (the second run proves it idempotent), against
 * the sources (test/node/anystore-from-src.mjs), so no build is needed. The browser quick start
 * runs in Chromium (test/browser/examples.test.ts); the job runner needs Redis and runs in
 * coordination.test.ts.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TMP } from "./tmp.js";

const ROOT = resolve(import.meta.dirname, "../..");
const FROM_SRC = pathToFileURL(join(ROOT, "test/node/anystore-from-src.mjs")).href;
const TSX = pathToFileURL(join(ROOT, "node_modules/tsx/dist/loader.mjs")).href;

/** The README's marked blocks: the file each names, and the block's text. */
function markedBlocks(readme: string): Array<{ file: string; code: string }> {
  const marked = /<!-- example: (examples\/[\w.-]+\.mjs) -->\s*```js\n([\s\S]*?)```/g;
  return [...readme.matchAll(marked)].map((m) => ({ file: m[1] as string, code: m[2] as string }));
}

let readme = "";
let scratch = "";
beforeAll(async () => {
  readme = await readFile(join(ROOT, "README.md"), "utf8");
  scratch = await mkdtemp(join(TMP, "examples-"));
});
afterAll(() => rm(scratch, { recursive: true, force: true }));

describe("README code blocks", () => {
  it("each marked block is its example file, word for word", async () => {
    const blocks = markedBlocks(readme);
    expect(blocks.map((b) => b.file)).toEqual(
      expect.arrayContaining([
        "examples/quick-start-node.mjs",
        "examples/quick-start-browser.mjs",
        "examples/tour.mjs",
        "examples/cache-and-copy.mjs",
        "examples/job-runner.mjs",
      ]),
    );
    for (const { file, code } of blocks) expect(code, file).toBe(await readFile(join(ROOT, file), "utf8"));
  });

  it("the Types block is test/types/readme-types.ts, which test/node/types.test.ts typechecks", async () => {
    const block = /<!-- typechecked: (test\/types\/[\w.-]+\.ts) -->\s*```ts\n([\s\S]*?)```/.exec(readme);
    expect(block?.[1]).toBe("test/types/readme-types.ts");
    expect(block?.[2]).toBe(await readFile(join(ROOT, "test/types/readme-types.ts"), "utf8"));
  });

  it("no js block claims to run without naming its file", () => {
    // A ```js block is a runnable example; fragments are written as ```ts.
    const jsBlocks = readme.match(/```js\n/g) ?? [];
    expect(jsBlocks.length).toBe(markedBlocks(readme).length);
  });
});

/** Runs an example the way a user would (`node examples/x.mjs`), in `cwd`; resolves to its stdout. */
async function runExample(file: string, cwd: string): Promise<string> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ["--import", FROM_SRC, "--import", TSX, join(ROOT, file)],
    { cwd, env: { ...process.env, ANYSTORE_URI: "" }, timeout: 25_000 },
  );
  return stdout;
}

describe.each([
  ["examples/quick-start-node.mjs", ["{ name: 'Ada', langs: [ 'en', 'fr' ] }", "null", "users/ada.json"]],
  [
    "examples/tour.mjs",
    ["reports/2026.json { total: 3 }", "12", "Uint8Array(2) [ 49, 50 ]", "1024", "{ event: 'stop' }"],
  ],
  ["examples/cache-and-copy.mjs", ["144", "%PDF-"]],
])("%s", (file, expectedLines) => {
  it("runs, and runs again in the same folder", async () => {
    const cwd = await mkdtemp(join(scratch, "run-"));
    for (let run = 1; run <= 2; run++) {
      const lines = (await runExample(file, cwd)).split("\n");
      for (const line of expectedLines) expect(lines, `run ${run}`).toContain(line);
    }
  });
});
