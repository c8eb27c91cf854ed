/**
 * The browser's driver loaders by uri scheme. The browser runtime imports this module on the
 * first use of a uri store (see runtime.ts), so an app that passes a driver object bundles
 * neither these loaders nor the code the other drivers share with the core.
 *
 * Each loader imports a one-line module in from-uri/ that re-exports the driver's uri
 * factory, not the driver module itself: when an app also imports that driver directly, a
 * bundler would otherwise put a namespace object of the driver's every export in the app's
 * first chunk, where now it keeps one binding.
 */
import type { DriverFactory } from "../../core/driver/contract.js";

const factory = (m: { fromUri: DriverFactory }): DriverFactory => m.fromUri;
const memory = () => import("./from-uri/memory.js").then(factory);
const indexeddb = () => import("./from-uri/indexeddb.js").then(factory);
const opfs = () => import("./from-uri/opfs.js").then(factory);
const http = () => import("./from-uri/http.js").then(factory);
const s3 = () => import("./from-uri/s3.js").then(factory);

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
export const browserSchemes: Record<string, () => Promise<DriverFactory>> = {
  ...webSchemes,
  idb: indexeddb,
  indexeddb,
  opfs,
};
