import type { DriverFactory } from "./driver/contract.js";
import { UnsupportedError } from "./errors.js";

/** An incremental hash; `digest` returns lowercase hex. */
export interface Hasher {
  update(bytes: Uint8Array): void;
  digest(): string;
}

export type HashAlgorithm = "sha256" | "sha1" | "md5" | "sha512";

/** What differs between Node and browsers; each runtime entry supplies one. */
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

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//;

/** The scheme a uri names: its own, or the runtime's choice for a plain path. */
export function schemeOf(uri: string, runtime: Runtime): string {
  const match = SCHEME.exec(uri);
  if (match) {
    const scheme = match[1]!.toLowerCase();
    if (scheme === "file" && uri.toLowerCase().endsWith(".zip") && runtime.pathScheme) return "zip";
    return scheme;
  }
  if (runtime.pathScheme) return runtime.pathScheme(uri);
  throw new UnsupportedError(`"${uri}" is not a uri this runtime understands: use a scheme such as idb://, opfs://, memory:// or anystore+https://`);
}

/** Loads the driver factory for a uri; throws `UnsupportedError` for unknown or other-runtime schemes. */
export function loaderFor(uri: string, runtime: Runtime): () => Promise<DriverFactory> {
  const scheme = schemeOf(uri, runtime);
  if (runtime.schemes.includes(scheme)) return () => runtime.load(scheme);
  const advice = runtime.elsewhere[scheme];
  if (advice) throw new UnsupportedError(`the ${scheme}:// scheme is not available in ${runtime.name === "node" ? "Node.js" : "a browser"}: ${advice}`);
  const known = runtime.schemes.map((s) => `${s}://`).join(", ");
  throw new UnsupportedError(`unknown scheme ${scheme}:// in "${uri}": known here are ${known}`);
}
