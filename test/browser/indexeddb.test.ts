import { deleteDB } from "idb";
import { describe, expect, it } from "vitest";
import { createStore } from "../../src/index.browser.js";
import { contractSuite } from "../shared/contract.js";

const run = `t${Date.now().toString(36)}`;
let counter = 0;
const made: string[] = [];
/** A fresh database per store, so every case starts empty. */
const freshDb = () => {
  const name = `anystore-${run}-${counter++}`;
  made.push(name);
  return name;
};

contractSuite({
  name: "indexeddb (chromium)",
  make: (options) => createStore(`idb://${freshDb()}`, options),
  cleanup: async () => {
    await Promise.all(made.map((name) => deleteDB(name)));
  },
});

contractSuite({
  name: "indexeddb with a uri prefix (chromium)",
  make: (options) => createStore(`indexeddb://anystore-${run}-shared/p${counter++}`, options),
  cleanup: () => deleteDB(`anystore-${run}-shared`),
});
