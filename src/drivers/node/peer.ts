/**
 * The backend clients (ioredis, pg, mysql2, @libsql/client) are optional peer dependencies:
 * anystore does not install them, and a store loads its client on first use. A missing one is
 * an `UnsupportedError` that names the package and the command that installs it, not an IO
 * failure of the backend.
 */
import { UnsupportedError } from "../../core/errors.js";

/** True when `error` is the runtime failing to find the package `name` (Node, bundlers). */
function isMissing(error: unknown, name: string): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  const notFound =
    code === "ERR_MODULE_NOT_FOUND" ||
    code === "MODULE_NOT_FOUND" ||
    /Cannot find (package|module)/.test(error.message);
  return notFound && (error.message.includes(`'${name}'`) || error.message.includes(`"${name}"`));
}

/**
 * Runs `load` (a literal `import("pkg")`, so bundlers still see it); when the package is not
 * installed, throws `UnsupportedError`: "<what> needs the optional package "pkg" (<why>): npm i pkg".
 * @example
 * const { default: Redis } = await importPeer(() => import("ioredis"), "ioredis", "redis:// stores", "the Redis client");
 */
export async function importPeer<M>(load: () => Promise<M>, name: string, what: string, why: string): Promise<M> {
  try {
    return await load();
  } catch (error) {
    if (!isMissing(error, name)) throw error;
    throw new UnsupportedError(
      `${what} need the package "${name}" (${why}), an optional peer of anystore that is not installed: run \`npm i ${name}\``,
      { cause: error },
    );
  }
}
