/**
 * Bundles the notebook page (demo/src/main.ts, which imports the package's sources) into one
 * file, demo/dist/app.js: one file is all the service worker has to keep for offline use.
 * TypeScript is transpiled only (fast); `npx tsc -p demo` type-checks.
 */

import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import commonjs from "@rollup/plugin-commonjs";
import { nodeResolve } from "@rollup/plugin-node-resolve";
import terser from "@rollup/plugin-terser";
import ts from "typescript";

const here = dirname(fileURLToPath(import.meta.url));

/** Transpiles .ts modules and resolves the sources' `./x.js` imports to `./x.ts`. */
function transpileTypeScript() {
  return {
    name: "transpile-typescript",
    resolveId(source, importer) {
      if (!importer?.endsWith(".ts") || !source.startsWith(".") || !source.endsWith(".js")) return null;
      const candidate = resolve(dirname(importer), source.replace(/\.js$/, ".ts"));
      return existsSync(candidate) ? candidate : null;
    },
    transform(code, id) {
      if (!id.endsWith(".ts")) return null;
      const out = ts.transpileModule(code, {
        fileName: id,
        compilerOptions: {
          target: ts.ScriptTarget.ES2022,
          module: ts.ModuleKind.ESNext,
          sourceMap: true,
          verbatimModuleSyntax: true,
        },
      });
      return { code: out.outputText, map: JSON.parse(out.sourceMapText ?? "null") };
    },
  };
}

/** The page's bundle; `minify: false` saves the test a few seconds. */
export function demoConfig({ minify = true } = {}) {
  return {
    input: resolve(here, "src/main.ts"),
    output: { file: resolve(here, "dist/app.js"), format: "es", sourcemap: true, inlineDynamicImports: true },
    plugins: [
      transpileTypeScript(),
      nodeResolve({ browser: true, exportConditions: ["browser"] }),
      commonjs(),
      minify && terser(),
    ],
    onwarn(warning, warn) {
      if (warning.code !== "CIRCULAR_DEPENDENCY") warn(warning);
    },
  };
}

export default demoConfig();
