/** Exports shared by every runtime entry. */
export * from "./core/errors.js";
export type * from "./core/types.js";
export type { Driver, DriverCapabilities, DriverFactory, DriverInfo, WriteOptions, ByteRange } from "./core/driver/contract.js";
export { normalizeKey } from "./core/keys.js";
export { guessContentType } from "./core/mime.js";
export { createHandler } from "./core/http/handler.js";
export type { Handler, HandlerOptions } from "./core/http/handler.js";
export { anycache } from "./core/tools/anycache.js";
export type { AnycacheOptions } from "./core/tools/anycache.js";
export { makeSignatureKey } from "./core/signature.js";
export { mirror } from "./core/tools/mirror.js";
export type { MirrorOptions, MirrorProgress, MirrorResult } from "./core/tools/mirror.js";
export { splitUri } from "./core/tools/smart.js";
export type { ReadMode, WriteMode } from "./core/tools/smart.js";
export { fromUnstorage, toUnstorage } from "./core/tools/unstorage.js";
export type { FromUnstorageOptions, UnstorageDriver, UnstorageDriverLike } from "./core/tools/unstorage.js";
