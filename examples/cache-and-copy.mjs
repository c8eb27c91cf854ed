import { anycache, createStore, mirror, smartRead, smartWrite } from "anystore";

// A cache for an API or an expensive step: the first call runs, later ones read the store.
const cache = createStore("./cache"); // "redis://localhost/0/cache" shares it between processes
const slowSquare = async (n = 0) => new Promise((resolve) => setTimeout(() => resolve(n * n), 100));
const square = anycache(slowSquare, { store: cache, ttl: 3600 });
console.log(await square(12)); // 144 after 100 ms, stored under sha256 of the arguments
console.log(await square(12)); // 144 from the store; 100 concurrent calls with one key run it once

// Copy raw bytes key by key, streaming, with bounded concurrency; existing keys are skipped.
const crawl = createStore("./crawl");
await crawl.put("2026/report.pdf", new Uint8Array([37, 80, 68, 70, 45])); // any bytes
const result = await mirror(crawl, createStore("sqlite:///backup.db"), {
  glob: "**/*.pdf",
  concurrency: 16,
  signal: AbortSignal.timeout(60_000),
  onProgress: (p) => console.log(p.key, p.status, p.bytes),
});
console.log(result); // { mirrored, skipped, failed, bytes, took, errors }: skipped on the second run

// A whole uri names a store and a key (split at the last "/"); "-" is stdin/stdout in Node.
const text = await smartRead("./crawl/2026/report.pdf", "r");
await smartWrite("./out/copy.txt", text);
console.log(await smartRead("./out/copy.txt", "r")); // %PDF-
