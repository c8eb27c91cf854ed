/** Exports shared by every runtime entry. */
export * from "./core/errors.js";
export type * from "./core/types.js";
export type { Driver, DriverCapabilities, DriverFactory, DriverInfo, WriteOptions, ByteRange } from "./core/driver.js";
export { normalizeKey } from "./core/keys.js";
export { guessContentType } from "./core/mime.js";
export { createHandler } from "./core/http-handler.js";
export type { Handler, HandlerOptions } from "./core/http-handler.js";
