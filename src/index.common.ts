/** Exports shared by every runtime entry. */

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
} from "./core/coordination/index.js";
export { lock, queue, rateLimit, tags, withLock } from "./core/coordination/index.js";
export type {
  ByteRange,
  Driver,
  DriverCapabilities,
  DriverFactory,
  DriverInfo,
  WriteOptions,
} from "./core/driver/contract.js";
export * from "./core/errors.js";
export type { Handler, HandlerOptions } from "./core/http/handler.js";
export { createHandler } from "./core/http/handler.js";
export { normalizeKey } from "./core/keys.js";
export { guessContentType } from "./core/mime.js";
export { makeSignatureKey } from "./core/signature.js";
export type { AnycacheOptions } from "./core/tools/anycache.js";
export { anycache } from "./core/tools/anycache.js";
export type { MirrorOptions, MirrorProgress, MirrorResult } from "./core/tools/mirror.js";
export { mirror } from "./core/tools/mirror.js";
export type {
  CachedOptions,
  SyncAction,
  SyncConflict,
  SyncOptions,
  SyncProgress,
  SyncResolution,
  SyncResult,
} from "./core/tools/offline/index.js";
export { cached, sync } from "./core/tools/offline/index.js";
export type { ReadMode, WriteMode } from "./core/tools/smart.js";
export { splitUri } from "./core/tools/smart.js";
export type {
  FromUnstorageOptions,
  ToUnstorageOptions,
  UnstorageDriver,
  UnstorageDriverLike,
} from "./core/tools/unstorage.js";
export { fromUnstorage, toUnstorage } from "./core/tools/unstorage.js";
export type * from "./core/types.js";
