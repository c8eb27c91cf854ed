import type { DriverFactory } from "../core/driver.js";
import type { HashAlgorithm, Hasher, Runtime } from "../core/runtime.js";

/** Hashing with @noble/hashes (loaded on first use): WebCrypto cannot hash a stream, nor MD5. */
export async function nobleHasher(algorithm: HashAlgorithm): Promise<Hasher> {
  const [sha2, legacy, utils] = await Promise.all([
    import("@noble/hashes/sha2.js"),
    import("@noble/hashes/legacy.js"),
    import("@noble/hashes/utils.js"),
  ]);
  const make = { sha256: sha2.sha256, sha512: sha2.sha512, sha1: legacy.sha1, md5: legacy.md5 }[algorithm];
  const hash = make.create();
  return { update: (bytes) => void hash.update(bytes), digest: () => utils.bytesToHex(hash.digest()) };
}

const memory = (): Promise<DriverFactory> => import("../drivers/browser/memory.js").then((m) => m.memoryDriverFromUri);

const indexeddb = (): Promise<DriverFactory> => import("../drivers/browser/indexeddb.js").then((m) => m.indexeddbDriverFromUri);
const opfs = (): Promise<DriverFactory> => import("../drivers/browser/opfs.js").then((m) => m.opfsDriverFromUri);

const http = (): Promise<DriverFactory> => import("../drivers/browser/http.js").then((m) => m.httpDriverFromUri);
const s3 = (): Promise<DriverFactory> => import("../drivers/browser/s3.js").then((m) => m.s3DriverFromUri);
const viaServer = "reach it from a browser through `anystore serve` and an anystore+http(s):// store";

/** Uri schemes of drivers that run on web APIs alone (Node shares them); server backends point at the HTTP protocol instead. */
export const browserSchemes: Record<string, () => Promise<DriverFactory>> = {
  memory,
  http,
  https: http,
  "anystore+http": http,
  "anystore+https": http,
  s3,
};

export const browserRuntime: Runtime = {
  name: "browser",
  defaultUri: () => "idb://anystore",
  // Browser-only schemes stay out of browserSchemes, which Node shares.
  schemes: { ...browserSchemes, idb: indexeddb, indexeddb, opfs },
  elsewhere: {
    file: viaServer,
    sqlite: viaServer,
    libsql: viaServer,
    postgres: viaServer,
    postgresql: viaServer,
    mysql: viaServer,
    redis: viaServer,
    rediss: viaServer,
    "redis+cluster": viaServer,
    zip: viaServer,
  },
  createHasher: nobleHasher,
};
