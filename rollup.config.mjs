import { readFileSync, rmSync } from "node:fs";
import typescript from "@rollup/plugin-typescript";

/**
 * The entries are what package.json publishes (every `exports` target and the `bin`), read from
 * there so the two never disagree. Every source file they reach is its own output module
 * (preserveModules), so subpath exports and lazy driver chunks line up.
 */
const pkg = JSON.parse(readFileSync("package.json", "utf8"));
/** Every file path in an `exports` entry, through nested conditions (`{ node: { types, default } }`). */
const targetsOf = (entry) => (typeof entry === "string" ? [entry] : Object.values(entry).flatMap(targetsOf));
const targets = [...Object.values(pkg.exports).flatMap(targetsOf), ...Object.values(pkg.bin)];
const entries = [
  ...new Set(
    targets
      .filter((t) => t.startsWith("./dist/") && t.endsWith(".js"))
      .map((t) => t.replace(/^\.\/dist\//, "src/").replace(/\.js$/, ".ts")),
  ),
];

/** Starts from an empty dist/, so files of moved or deleted modules are never shipped. */
const clean = { name: "clean-dist", buildStart: () => rmSync("dist", { recursive: true, force: true }) };

export default {
  input: entries,
  output: { dir: "dist", format: "es", preserveModules: true, preserveModulesRoot: "src", sourcemap: true },
  external: (id) => !id.startsWith(".") && !id.startsWith("/") && !id.startsWith("\0") && !/^[A-Za-z]:/.test(id),
  plugins: [
    clean,
    typescript({
      tsconfig: "./tsconfig.json",
      declaration: true,
      declarationDir: "dist",
      outDir: "dist",
      noEmitOnError: !process.env.LOOSE_BUILD,
    }),
  ],
};
