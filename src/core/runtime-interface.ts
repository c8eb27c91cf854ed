import type { DriverFactory } from "./driver/contract.js";
import type { HashAlgorithm, Hasher } from "./hashing.js";

/**
 * What differs between Node and browsers. Each runtime entry supplies one (src/runtime/node,
 * src/runtime/browser); the core only ever sees this interface.
 */
export interface Runtime {
  readonly name: "node" | "browser";
  /** The uri used when none is given. */
  defaultUri(): string;
  /** The schemes this runtime has drivers for (lower case, without `://`). */
  readonly schemes: readonly string[];
  /** Loads the driver factory for one of `schemes`. */
  load(scheme: string): Promise<DriverFactory>;
  /** Schemes of the other runtime, each with advice on what to use here instead. */
  readonly elsewhere: Readonly<Record<string, string>>;
  /** The factory for a plain path (no scheme), or undefined where paths mean nothing. */
  readonly pathScheme?: (path: string) => string;
  createHasher(algorithm: HashAlgorithm): Promise<Hasher>;
}
