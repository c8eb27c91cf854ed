import { playwright } from "@vitest/browser-playwright";
import { defineConfig } from "vitest/config";
import { CHROMIUM_ARGS, CHROMIUM_PATH } from "./chromium.config.mjs";

const chromium = CHROMIUM_PATH;
const chromiumArgs = CHROMIUM_ARGS;

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "node",
          include: ["test/node/**/*.test.ts"],
          environment: "node",
          testTimeout: 30_000,
          hookTimeout: 60_000,
          globalSetup: ["test/node/global-setup.ts"],
        },
      },
      {
        test: {
          name: "browser",
          include: ["test/browser/**/*.test.ts"],
          // The README's browser example imports "anystore" as a user would; here it is the sources.
          alias: [{ find: /^anystore$/, replacement: new URL("./src/index.browser.ts", import.meta.url).pathname }],
          globalSetup: ["test/browser/global-setup.ts"],
          // Pre-bundled up front: a dependency found mid-run makes Vite reload the page and fail the file.
          deps: {
            optimizer: {
              client: {
                include: [
                  "idb",
                  "zod",
                  "aws4fetch",
                  "@noble/hashes/sha2.js",
                  "@noble/hashes/legacy.js",
                  "@noble/hashes/utils.js",
                ],
              },
            },
          },
          testTimeout: 30_000,
          hookTimeout: 60_000,
          browser: {
            enabled: true,
            headless: true,
            screenshotFailures: false,
            provider: playwright({ launchOptions: { executablePath: chromium, args: chromiumArgs } }),
            instances: [{ browser: "chromium" }],
          },
        },
      },
      {
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          environment: "node",
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
