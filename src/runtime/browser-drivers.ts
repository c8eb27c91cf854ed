/**
 * The browser's driver loaders by uri scheme. The browser runtime imports this module on the
 * first use of a uri store (see browser.ts), so an app that passes a driver object bundles
 * neither these loaders nor the code the other drivers share with the core.
 */
import type { DriverFactory } from "../core/driver.js";

const memory = (): Promise<DriverFactory> => import("../drivers/browser/memory.js").then((m) => m.memoryDriverFromUri);
const indexeddb = (): Promise<DriverFactory> => import("../drivers/browser/indexeddb.js").then((m) => m.indexeddbDriverFromUri);
const opfs = (): Promise<DriverFactory> => import("../drivers/browser/opfs.js").then((m) => m.opfsDriverFromUri);
const http = (): Promise<DriverFactory> => import("../drivers/browser/http.js").then((m) => m.httpDriverFromUri);
const s3 = (): Promise<DriverFactory> => import("../drivers/browser/s3.js").then((m) => m.s3DriverFromUri);

/** Drivers that run on web APIs alone (Node shares them). */
export const webSchemes: Record<string, () => Promise<DriverFactory>> = {
  memory,
  http,
  https: http,
  "anystore+http": http,
  "anystore+https": http,
  s3,
};

/** Every driver a browser has. Its keys are `browserRuntime.schemes` (a test checks). */
export const browserSchemes: Record<string, () => Promise<DriverFactory>> = { ...webSchemes, idb: indexeddb, indexeddb, opfs };
