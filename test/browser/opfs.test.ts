import { describe, expect, it } from "vitest";
import { createStore } from "../../src/index.browser.js";
import { contractSuite } from "../shared/contract.js";

const run = `anystore-test-${Date.now().toString(36)}`;
let counter = 0;

const removeRun = async () => {
  const root = await navigator.storage.getDirectory();
  await root.removeEntry(run, { recursive: true }).catch(() => {});
};

contractSuite({
  name: "opfs (chromium)",
  make: (options) => createStore(`opfs://${run}/s${counter++}`, options),
  cleanup: removeRun,
});
