import { createHash } from "node:crypto";
import type { DriverFactory } from "../../core/driver/contract.js";
import type { Hasher } from "../../core/hashing.js";
import type { Runtime } from "../../core/runtime-interface.js";
import { webSchemes } from "../browser/uri-drivers.js";

const fs = (): Promise<DriverFactory> => import("../../drivers/node/fs/fs.js").then((m) => m.fsDriverFromUri);
const sql = (): Promise<DriverFactory> => import("../../drivers/node/sql/sql.js").then((m) => m.sqlDriverFromUri);

/** The http driver with a fetch that streams uploads (see drivers/node/streaming-fetch.ts), unless the caller brings its own fetch. */
const http = (): Promise<DriverFactory> =>
  Promise.all([import("../../drivers/browser/http/http.js"), import("../../drivers/node/streaming-fetch.js")]).then(
    ([driver, node]) =>
      (uri, options) =>
        driver.httpDriverFromUri(uri, { fetch: node.streamingFetch, ...options }),
  );

const browserOnly = "it needs a browser; in Node.js use a directory (fs), sqlite:// or memory://";

/** Node's driver loaders by uri scheme: the web drivers, http with streamed uploads, and the server backends. */
const nodeSchemes: Record<string, () => Promise<DriverFactory>> = {
  ...webSchemes,
  http,
  https: http,
  "anystore+http": http,
  "anystore+https": http,
  file: fs,
  zip: () => import("../../drivers/node/zip/zip.js").then((m) => m.zipDriverFromUri),
  sqlite: sql,
  libsql: sql,
  postgres: sql,
  postgresql: sql,
  mysql: sql,
  ...Object.fromEntries(
    ["redis", "rediss", "redis+cluster"].map((s) => [
      s,
      () => import("../../drivers/node/redis/redis.js").then((m) => m.redisDriverFromUri),
    ]),
  ),
};

export const nodeRuntime: Runtime = {
  name: "node",
  defaultUri: () => process.env.ANYSTORE_URI || ".anystore",
  get schemes() {
    return Object.keys(nodeSchemes);
  },
  load: (scheme) => nodeSchemes[scheme]!(),
  elsewhere: { idb: browserOnly, indexeddb: browserOnly, opfs: browserOnly },
  pathScheme: (path) => (path.toLowerCase().endsWith(".zip") ? "zip" : "file"),
  async createHasher(algorithm): Promise<Hasher> {
    const hash = createHash(algorithm);
    return { update: (bytes) => void hash.update(bytes), digest: () => hash.digest("hex") };
  },
};
