import typescript from "@rollup/plugin-typescript";
import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";

/** Every source file is its own output module (preserveModules), so subpath exports and lazy driver chunks line up. */
const entries = ["src/index.node.ts", "src/index.browser.ts"];
for (const dir of ["src/drivers/browser", "src/drivers/node", "src/cli"]) {
  try {
    for (const file of readdirSync(dir)) if (file.endsWith(".ts")) entries.push(join(dir, file));
  } catch {
    // the folder does not exist yet
  }
}

/** Starts from an empty dist/, so files of moved or deleted modules are never shipped. */
const clean = { name: "clean-dist", buildStart: () => rmSync("dist", { recursive: true, force: true }) };

export default {
  input: entries,
  output: { dir: "dist", format: "es", preserveModules: true, preserveModulesRoot: "src", sourcemap: true },
  external: (id) => !id.startsWith(".") && !id.startsWith("/") && !id.startsWith("\0") && !/^[A-Za-z]:/.test(id),
  plugins: [clean, typescript({ tsconfig: "./tsconfig.json", declaration: true, declarationDir: "dist", outDir: "dist", noEmitOnError: !process.env.LOOSE_BUILD })],
};
