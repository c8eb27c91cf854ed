/** Exports shared by every runtime entry. */
export * from "./core/errors.js";
export type * from "./core/types.js";
export type { Driver, DriverCapabilities, DriverFactory, DriverInfo, WriteOptions, ByteRange } from "./core/driver.js";
export { normalizeKey } from "./core/keys.js";
export { guessContentType } from "./core/mime.js";
export { createHandler } from "./core/http-handler.js";
export type { Handler, HandlerOptions } from "./core/http-handler.js";
export { anycache } from "./core/cache.js";
export type { AnycacheOptions } from "./core/cache.js";
export { makeSignatureKey } from "./core/signature.js";
export { mirror } from "./core/mirror.js";
export type { MirrorOptions, MirrorProgress, MirrorResult } from "./core/mirror.js";
export { splitUri } from "./core/smart.js";
export type { ReadMode, WriteMode } from "./core/smart.js";
export { fromUnstorage, toUnstorage } from "./core/unstorage.js";
export type { FromUnstorageOptions, UnstorageDriver, UnstorageDriverLike } from "./core/unstorage.js";
export { lock, queue, rateLimit, tags, withLock } from "./coordination/index.js";
export type {
  ConsumeOptions,
  HeldLock,
  LockOptions,
  Queue,
  QueueItem,
  QueueOptions,
  RateLimit,
  RateLimitOptions,
  Tags,
} from "./coordination/index.js";
