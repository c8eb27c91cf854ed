import type { Runtime } from "../../core/runtime-interface.js";

const viaServer = "reach it from a browser through `anystore serve` and an anystore+http(s):// store";

export const browserRuntime: Runtime = {
  name: "browser",
  defaultUri: () => "idb://anystore",
  // Names only, so createStore can refuse an unknown scheme at once; the loaders come with the
  // first use of a uri store (uri-drivers.ts), a module an app passing a driver never loads.
  schemes: ["memory", "http", "https", "anystore+http", "anystore+https", "s3", "idb", "indexeddb", "opfs"],
  load: (scheme) => import("./uri-drivers.js").then((m) => m.browserSchemes[scheme]!()),
  // Server backends point at the HTTP protocol instead.
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
  // @noble/hashes (WebCrypto cannot hash a stream, nor MD5), loaded on the first checksum.
  createHasher: (algorithm) => import("./noble-hasher.js").then((m) => m.nobleHasher(algorithm)),
};
