import { createStore, isAnystoreError } from "anystore";

const store = createStore(); // ANYSTORE_URI, else the folder ./.anystore (idb://anystore in a browser)
await store.put("reports/2026.json", { total: 3 });
for await (const key of store.keys({ glob: "**/*.json" })) console.log(key, await store.get(key));

console.log(await store.get("missing", { default: null })); // null; NotFoundError without a default
await store.put("session", { user: "ada" }, { ttl: 60 }); // seconds; invisible once expired
try {
  await store.put("once", "first", { ifNotExists: true });
} catch (error) {
  if (!isAnystoreError(error, "ALREADY_EXISTS")) throw error; // the second run lands here
}
const info = await store.info("reports/2026.json"); // size, createdAt, updatedAt, contentType, uri
console.log(info.size, info.contentType, await store.checksum("reports/2026.json")); // sha256 by default

// Values: `auto` (the default) reads back whatever the bytes parse as, as Python's anystore does.
await store.put("digits", new Uint8Array([49, 50])); // the bytes of "12"
console.log(await store.get("digits")); // 12, a number
console.log(await store.get("digits", { serialization: "raw" })); // Uint8Array(2) [ 49, 50 ]
const bytes = createStore("memory://", { serialization: "raw" }); // a store of bytes, typed Uint8Array

// Streams: a value never has to sit whole in memory.
await store.put("big.bin", new Blob([new Uint8Array(4 * 1024 * 1024)]).stream()); // any ReadableStream
const part = await store.open("big.bin", "r", { start: 0, end: 1024 }); // a byte range
console.log((await new Response(part).arrayBuffer()).byteLength); // 1024
const sink = (await store.open("events.jsonl", "w")).getWriter(); // visible atomically on close
for (const event of ["start", "stop"]) await sink.write(new TextEncoder().encode(`${JSON.stringify({ event })}\n`));
await sink.close();
for await (const row of store.stream("events.jsonl")) console.log(row); // JSON lines, one value each

await store.putMany([
  ["a", 1],
  ["b", 2],
]);
console.log(await store.getMany(["a", "b", "c"])); // Map(2) { 'a' => 1, 'b' => 2 }: missing keys left out
const tenant = store.child("tenants/acme"); // same connection, keys under a prefix
await tenant.put("plan", "pro"); // the key tenants/acme/plan of the parent
await bytes.put("blob", new Uint8Array([1, 2, 3]));
await store.close();
