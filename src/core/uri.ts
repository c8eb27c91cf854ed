import type { DriverFactory } from "./driver/contract.js";
import { UnsupportedError } from "./errors.js";
import type { Runtime } from "./runtime-interface.js";

/** The scheme at the start of a uri (`s3://`, `anystore+https://`); group 1 is its name. */
export const URI_SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//;

/** The scheme a uri names: its own, or the runtime's choice for a plain path. */
export function schemeOf(uri: string, runtime: Runtime): string {
  const match = URI_SCHEME.exec(uri);
  if (match) {
    const scheme = match[1]!.toLowerCase();
    if (scheme === "file" && uri.toLowerCase().endsWith(".zip") && runtime.pathScheme) return "zip";
    return scheme;
  }
  if (runtime.pathScheme) return runtime.pathScheme(uri);
  throw new UnsupportedError(
    `"${uri}" is not a uri this runtime understands: use a scheme such as idb://, opfs://, memory:// or anystore+https://`,
  );
}

/** Loads the driver factory for a uri; throws `UnsupportedError` for unknown or other-runtime schemes. */
export function loaderFor(uri: string, runtime: Runtime): () => Promise<DriverFactory> {
  const scheme = schemeOf(uri, runtime);
  if (runtime.schemes.includes(scheme)) return () => runtime.load(scheme);
  const advice = runtime.elsewhere[scheme];
  if (advice)
    throw new UnsupportedError(
      `the ${scheme}:// scheme is not available in ${runtime.name === "node" ? "Node.js" : "a browser"}: ${advice}`,
    );
  const known = runtime.schemes.map((s) => `${s}://`).join(", ");
  throw new UnsupportedError(`unknown scheme ${scheme}:// in "${uri}": known here are ${known}`);
}
