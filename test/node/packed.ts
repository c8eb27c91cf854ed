/**
 * The package as users install it: a fresh build (when dist is older than src), `npm pack`,
 * unpacked into a consumer project's node_modules beside the dependencies it asks for (links to
 * this repository's node_modules). Used by types.test.ts and missing-peer.test.ts.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { cp, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const ROOT = resolve(import.meta.dirname, "../..");
const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
/** The package's own dependencies, which npm would install with it. */
export const DEPENDENCIES: string[] = Object.keys(pkg.dependencies);

function newest(dir: string): number {
  let last = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) last = Math.max(last, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return last;
}

/**
 * A scratch folder outside this repository: a project inside it would find the repository's
 * node_modules (the peers, @types/node) by walking up, which a user's project cannot.
 */
export function outsideScratch(name: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `anystore-${name}-`));
}

const stale = () =>
  !existsSync(join(ROOT, "dist/cli/main.js")) ||
  !existsSync(join(ROOT, "dist/index.node.d.ts")) ||
  newest(join(ROOT, "dist")) < newest(join(ROOT, "src"));

/**
 * Runs `npm run build` when dist is missing or older than src. Test files run in parallel and a
 * build starts by emptying dist, so builds take turns through a lock folder, and each checks
 * again once it holds it (the build before it may have done the work).
 */
export async function ensureBuilt(): Promise<void> {
  if (!stale()) return;
  const lock = join(ROOT, "test/.build.lock");
  for (const started = Date.now(); ; ) {
    try {
      await mkdir(lock);
      break;
    } catch {
      // A lock left by a killed run is taken over after the longest build allowed.
      if (
        Date.now() - started > 600_000 ||
        Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now()) > 600_000
      ) {
        await rm(lock, { recursive: true, force: true });
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  try {
    if (!stale()) return;
    const build = spawnSync("npm", ["run", "build"], { cwd: ROOT, encoding: "utf8", timeout: 540_000 });
    if (build.status !== 0) throw new Error(`npm run build failed:\n${build.stdout}\n${build.stderr}`);
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

/** Builds when needed, packs and unpacks into `scratch`; resolves to the unpacked package folder. */
export async function packedPackage(scratch: string): Promise<string> {
  await ensureBuilt();
  const pack = spawnSync("npm", ["pack", "--silent", "--pack-destination", scratch], { cwd: ROOT, encoding: "utf8" });
  if (pack.status !== 0) throw new Error(`npm pack failed: ${pack.stderr}`);
  const unpacked = join(scratch, "unpacked");
  await mkdir(unpacked);
  const tarball = (await readdir(scratch)).find((f) => f.endsWith(".tgz")) as string;
  const untar = spawnSync("tar", ["-xzf", join(scratch, tarball), "-C", unpacked], { encoding: "utf8" });
  if (untar.status !== 0) throw new Error(`tar failed: ${untar.stderr}`);
  return join(unpacked, "package");
}

/** A project folder with `anystore` (a copy of the unpacked package) and `deps` in node_modules. */
export async function consumerProject(dir: string, unpacked: string, deps: string[]): Promise<string> {
  const modules = join(dir, "node_modules");
  await mkdir(modules, { recursive: true });
  await cp(unpacked, join(modules, "anystore"), { recursive: true });
  for (const dep of deps) {
    await mkdir(join(modules, dep, ".."), { recursive: true });
    await symlink(join(ROOT, "node_modules", dep), join(modules, dep), "dir");
  }
  await writeFile(join(dir, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
  return dir;
}
