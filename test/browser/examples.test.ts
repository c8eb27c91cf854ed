/**
 * The README's browser quick start (examples/quick-start-browser.mjs), run as it is in Chromium:
 * "anystore" resolves to the browser entry's sources (vitest.config.ts, browser project alias).
 * The README's block is checked against the file by test/node/examples.test.ts.
 */
import { afterAll, expect, it } from "vitest";
import { createStore } from "../../src/index.browser.js";

afterAll(async () => {
  await createStore("idb://notes").delete("today.json");
  await createStore("opfs://uploads").delete("hello.txt");
});

it("examples/quick-start-browser.mjs runs, and runs again", async () => {
  const logged: unknown[][] = [];
  const log = console.log;
  console.log = (...args: unknown[]) => logged.push(args);
  try {
    await import("../../examples/quick-start-browser.mjs?run=1");
    await import("../../examples/quick-start-browser.mjs?run=2");
  } finally {
    console.log = log;
  }
  expect(logged.filter(([first]) => first === "today.json")).toHaveLength(2);
  expect(logged.filter(([first]) => first === "hello from the browser")).toHaveLength(2);
  expect(await createStore("idb://notes").get("today.json")).toEqual({ text: "buy milk", done: false });
});
