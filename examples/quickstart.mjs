#!/usr/bin/env node
/**
 * The README's first command (`npm run example`): a tour of anystore on an embedded default
 * store (the `.anystore` directory, or ANYSTORE_URI). Run `npm run build` first (the script does).
 */
import { createStore, isAnystoreError } from "anystore";

const store = createStore(process.env.ANYSTORE_URI);
console.log(`store: ${store.uri}`);

await store.put("reports/2026.json", { total: 3, items: ["a", "b", "c"] });
await store.put("reports/2025.json", { total: 1, items: ["z"] });
await store.put("notes/readme.txt", "plain text stays text");
await store.put("cache/session", { user: "ada" }, { ttl: 60 });

for await (const key of store.keys({ glob: "**/*.json" })) console.log(key, await store.get(key));

const info = await store.info("notes/readme.txt");
console.log(`${info.key}: ${info.size} bytes, ${info.contentType}, updated ${info.updatedAt?.toISOString()}`);
console.log(`sha256: ${await store.checksum("notes/readme.txt")}`);

// Streams in and out: the value never sits whole in memory.
const writer = (await store.open("logs/events.jsonl", "w")).getWriter();
for (let i = 0; i < 3; i++) await writer.write(new TextEncoder().encode(`${JSON.stringify({ event: i })}\n`));
await writer.close();
for await (const event of store.stream("logs/events.jsonl")) console.log("line", event);

try {
  await store.get("missing");
} catch (error) {
  if (isAnystoreError(error, "NOT_FOUND")) console.log(`${error.name}: ${error.message}`);
}
await store.close();
