import { createStore } from "anystore";

const store = createStore("./data"); // a folder; or "sqlite:///data.db", "redis://localhost/0/app", "s3://bucket/app", "memory://"
await store.put("users/ada.json", { name: "Ada", langs: ["en", "fr"] });
console.log(await store.get("users/ada.json")); // { name: 'Ada', langs: [ 'en', 'fr' ] }
console.log(await store.get("users/bob.json", { default: null })); // null: missing (NotFoundError without a default)
for await (const key of store.keys({ prefix: "users" })) console.log(key); // users/ada.json
await store.put("session", { user: "ada" }, { ttl: 60 }); // gone after 60 seconds
console.log(await store.checksum("users/ada.json")); // sha256 of the stored bytes
await store.close();
