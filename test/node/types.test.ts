/**
 * The shipped declarations, typechecked as a consumer project sees them (SPEC 3, "Types follow
 * what a call returns"): the packed package (`npm pack` of a fresh build) is unpacked into a
 * project's node_modules beside its real dependencies, and `tsc --noEmit` checks test/types/*.ts
 * and the README's examples (examples/*.mjs, checkJs) under each moduleResolution, with and
 * without @types/node, `skipLibCheck: false`, `lib: ["ES2023", "DOM"]`. The fixtures carry
 * `@ts-expect-error` lines for what must fail (an unused one is an error), and exact type
 * assertions, so `any` leaking out of a typed store fails too. moduleResolution `node10` is not
 * supported (it ignores `exports`, and TypeScript 6 deprecates it). examples/job-runner.mjs is left
 * out: its jobs are `unknown` without a schema, which plain JS reads freely and checkJs refuses.
 */
import { execFile } from "node:child_process";
import { cp, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { consumerProject, DEPENDENCIES, outsideScratch, packedPackage, ROOT } from "./packed.js";

const TSC = join(ROOT, "node_modules/typescript/bin/tsc");

interface Setting {
  name: string;
  compilerOptions: Record<string, unknown>;
  /** Whether the project has @types/node installed (and uses it). */
  nodeTypes: boolean;
  files: string[];
}

const EXAMPLES = ["quick-start-node.mjs", "quick-start-browser.mjs", "tour.mjs", "cache-and-copy.mjs"];
const BASE = { strict: true, noEmit: true, skipLibCheck: false, lib: ["ES2023", "DOM"], target: "ES2022" };
const SETTINGS: Setting[] = [
  {
    name: "browser app: bundler, no @types/node",
    compilerOptions: { module: "preserve", moduleResolution: "bundler" },
    nodeTypes: false,
    files: ["common.ts", "browser.ts", "readme-types.ts", ...EXAMPLES],
  },
  {
    name: "Node app: bundler with the node condition, @types/node",
    compilerOptions: { module: "preserve", moduleResolution: "bundler", customConditions: ["node"] },
    nodeTypes: true,
    files: ["common.ts", "node.ts", "readme-types.ts", ...EXAMPLES, "disposable.ts"],
  },
  {
    name: "Node app: node16, @types/node",
    compilerOptions: { module: "node16", moduleResolution: "node16" },
    nodeTypes: true,
    files: ["common.ts", "node.ts", "readme-types.ts", ...EXAMPLES, "disposable.ts"],
  },
  {
    name: "Node app: nodenext, @types/node",
    compilerOptions: { module: "nodenext", moduleResolution: "nodenext" },
    nodeTypes: true,
    files: ["common.ts", "node.ts", "readme-types.ts", ...EXAMPLES, "disposable.ts"],
  },
  {
    name: "Node app: nodenext, no @types/node",
    compilerOptions: { module: "nodenext", moduleResolution: "nodenext" },
    nodeTypes: false,
    files: ["common.ts", "node.ts", ...EXAMPLES],
  },
  {
    name: "library: bundler, no @types/node, esnext lib",
    compilerOptions: { module: "esnext", moduleResolution: "bundler", lib: ["ESNext", "DOM", "DOM.Iterable"] },
    nodeTypes: false,
    files: ["common.ts", "browser.ts", "disposable.ts"],
  },
];

let scratch = "";
let unpacked = "";

beforeAll(async () => {
  scratch = await outsideScratch("types");
  unpacked = await packedPackage(scratch);
}, 600_000);
afterAll(() => rm(scratch, { recursive: true, force: true }));

/** A consumer project: the unpacked package, its dependencies, zod, and @types/node if asked. */
async function project(setting: Setting, index: number): Promise<string> {
  const deps = [...DEPENDENCIES, "zod", ...(setting.nodeTypes ? ["@types/node"] : [])];
  const dir = await consumerProject(join(scratch, `consumer-${index}`), unpacked, deps);
  for (const file of setting.files) {
    const from = file.endsWith(".mjs") ? join(ROOT, "examples", file) : join(ROOT, "test/types", file);
    await cp(from, join(dir, file));
  }
  const compilerOptions = {
    ...BASE,
    ...setting.compilerOptions,
    types: setting.nodeTypes ? ["node"] : [],
    allowJs: true,
    checkJs: true,
  };
  await writeFile(join(dir, "tsconfig.json"), JSON.stringify({ compilerOptions, files: setting.files }, null, 2));
  return dir;
}

describe("the shipped types in a consumer project", () => {
  it.each(SETTINGS.map((s, i) => [s.name, s, i] as const))("%s", { timeout: 240_000 }, async (_name, setting, i) => {
    const dir = await project(setting, i);
    const result = await promisify(execFile)(process.execPath, [TSC, "-p", dir, "--pretty", "false"], {
      cwd: dir,
      timeout: 230_000,
    }).then(
      (r) => ({ code: 0, out: r.stdout }),
      (error: { code: number; stdout: string }) => ({ code: error.code, out: error.stdout }),
    );
    expect(result.out.trim()).toBe("");
    expect(result.code).toBe(0);
  });
});
