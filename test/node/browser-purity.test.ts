/**
 * `src/core`, `src/drivers/browser` and `src/runtime/browser` ship to browsers: they may import only each other and a
 * short list of browser-safe packages, never `node:*`, a Node built-in or a Node-only package,
 * and never touch Node globals (`process`, `Buffer`, `require`, `__dirname`) except behind `typeof`.
 * Parsed with the TypeScript compiler, so comments, strings and dynamic imports are handled.
 */
import { readdirSync, readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { browserRuntime } from "../../src/runtime/browser/runtime.js";
import { browserSchemes } from "../../src/runtime/browser/uri-drivers.js";

const root = resolve(import.meta.dirname, "../..");
const browserDirs = ["src/core", "src/drivers/browser", "src/runtime/browser"];
/** Bare packages that run in browsers (the first path segments of an import specifier). */
const browserSafe = new Set(["idb", "picomatch", "@noble/hashes", "fflate", "aws4fetch", "zod"]);
const nodeGlobals = new Set(["process", "Buffer", "require", "__dirname", "__filename"]);
const builtins = new Set(builtinModules.flatMap((m) => [m, m.split("/")[0]!]));

function sourceFiles(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

const packageOf = (specifier: string) =>
  specifier
    .split("/")
    .slice(0, specifier.startsWith("@") ? 2 : 1)
    .join("/");

/** Every module specifier a file imports: static imports, re-exports, `import type` and `import()`. */
function importsOf(file: string): string[] {
  const info = ts.preProcessFile(readFileSync(join(root, file), "utf8"), true, true);
  return info.importedFiles.map((f) => f.fileName);
}

/** Bare references to Node globals, outside `typeof x` and property names. */
function nodeGlobalsIn(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(join(root, file), "utf8"), ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isIdentifier(node) && nodeGlobals.has(node.text)) {
      const parent = node.parent;
      const isName =
        (ts.isPropertyAccessExpression(parent) && parent.name === node) ||
        ((ts.isPropertyAssignment(parent) || ts.isPropertySignature(parent) || ts.isMethodDeclaration(parent)) &&
          parent.name === node) ||
        ts.isTypeOfExpression(parent) ||
        ts.isTypeReferenceNode(parent) ||
        ts.isQualifiedName(parent);
      if (!isName) {
        const { line } = source.getLineAndCharacterOfPosition(node.getStart());
        found.push(`${file}:${line + 1}: ${node.text}`);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

describe("browser purity", () => {
  const files = browserDirs.flatMap(sourceFiles).filter((f) => !f.endsWith(".d.ts"));

  it("finds the sources", () => {
    expect(files).toContain("src/core/store/store.ts");
    expect(files).toContain("src/runtime/browser/runtime.ts");
    expect(files).toContain("src/drivers/browser/indexeddb/indexeddb.ts");
  });

  it("imports only browser code and browser-safe packages", () => {
    const problems: string[] = [];
    for (const file of files) {
      for (const specifier of importsOf(file)) {
        if (specifier.startsWith(".")) {
          // Relative imports must stay in the browser-safe folders.
          const target = relative(root, resolve(root, dirname(file), specifier));
          if (!browserDirs.some((dir) => target.startsWith(`${dir}/`)))
            problems.push(`${file}: ${specifier} leaves ${browserDirs.join(" and ")}`);
        } else if (specifier.startsWith("node:") || builtins.has(specifier) || builtins.has(packageOf(specifier))) {
          problems.push(`${file}: imports the Node built-in ${specifier}`);
        } else if (!browserSafe.has(packageOf(specifier))) {
          problems.push(
            `${file}: imports ${specifier}, not on the browser-safe list (add it there only if it runs in browsers)`,
          );
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it("uses no Node globals", () => {
    expect(files.flatMap(nodeGlobalsIn)).toEqual([]);
  });
});

describe("browser uri registry", () => {
  it("names exactly the schemes it can load (the names are checked at once, the loaders come later)", () => {
    expect([...browserRuntime.schemes].sort()).toEqual(Object.keys(browserSchemes).sort());
  });
});
