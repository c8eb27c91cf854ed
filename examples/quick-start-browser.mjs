import { createStore } from "anystore";

const notes = createStore("idb://notes"); // IndexedDB: many small values, works offline
await notes.put("today.json", { text: "buy milk", done: false });
console.log(await notes.get("today.json")); // { text: 'buy milk', done: false }
for await (const info of notes.list()) console.log(info.key, info.size, info.updatedAt);

const files = createStore("opfs://uploads"); // the Origin Private File System: large files, streamed
await files.put("hello.txt", new Blob(["hello from the browser"], { type: "text/plain" }));
console.log(await new Response(await files.open("hello.txt")).text()); // read back as a stream
