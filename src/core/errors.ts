/**
 * Typed errors. Every error anystore throws is an `AnystoreError` with a stable `code`;
 * `isAnystoreError` checks by a global brand, so it works across realms (iframes, workers,
 * two copies of the package in one bundle).
 */

export type ErrorCode =
  | "NOT_FOUND"
  | "ALREADY_EXISTS"
  | "CONFLICT"
  | "INVALID_KEY"
  | "INVALID_ARGUMENT"
  | "READ_ONLY"
  | "UNSUPPORTED"
  | "SERIALIZATION"
  | "VALIDATION"
  | "CONNECTION"
  | "IO";

export interface ErrorDetails {
  key?: string;
  store?: string;
  cause?: unknown;
}

const BRAND = Symbol.for("anystore.error");

/**
 * The base class. `code` tells the kind; `key` and `store` say where; `cause` holds the
 * backend's original error. Subclasses only set `name` and `code` (fields, which replace the
 * base constructor's values): no constructors of their own, so the bundle carries less.
 * @example
 * try { await store.get("x") } catch (e) { if (isAnystoreError(e, "NOT_FOUND")) ... }
 */
export class AnystoreError extends Error {
  override name: string = "AnystoreError";
  readonly code: ErrorCode;
  key?: string;
  store?: string;

  constructor(message: string, details: ErrorDetails = {}, code: ErrorCode = "IO") {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    if (details.key !== undefined) this.key = details.key;
    if (details.store !== undefined) this.store = details.store;
    Object.defineProperty(this, BRAND, { value: true });
  }
}

/** Fires for a missing or expired key (get, pop, info, open). */
export class NotFoundError extends AnystoreError {
  override name = "NotFoundError";
  override readonly code = "NOT_FOUND";
}

/** Fires when `put(..., { ifNotExists: true })` meets an existing key. */
export class AlreadyExistsError extends AnystoreError {
  override name = "AlreadyExistsError";
  override readonly code = "ALREADY_EXISTS";
}

/** Fires on path-based drivers when a key would also be a folder (`a` and `a/b`). */
export class ConflictError extends AnystoreError {
  override name = "ConflictError";
  override readonly code = "CONFLICT";
}

/** Fires for keys that break the key rules (empty, absolute, `..`, scheme, NUL, backslash, `.anystore`). */
export class InvalidKeyError extends AnystoreError {
  override name = "InvalidKeyError";
  override readonly code = "INVALID_KEY";
}

/** Fires for an unknown mode, algorithm or option, or a negative ttl. */
export class InvalidArgumentError extends AnystoreError {
  override name = "InvalidArgumentError";
  override readonly code = "INVALID_ARGUMENT";
}

/** Fires for any write to a readonly store, before anything is read or written. */
export class ReadOnlyError extends AnystoreError {
  override name = "ReadOnlyError";
  override readonly code = "READ_ONLY";
}

/** Fires for an unknown scheme, a driver of the other runtime, or an operation the backend cannot do. */
export class UnsupportedError extends AnystoreError {
  override name = "UnsupportedError";
  override readonly code = "UNSUPPORTED";
}

/** Fires when a value cannot be encoded, or stored bytes cannot be decoded. */
export class SerializationError extends AnystoreError {
  override name = "SerializationError";
  override readonly code = "SERIALIZATION";
}

/** Fires when a zod schema rejects a value; `issues` holds zod's issues. */
export class ValidationError extends AnystoreError {
  override name = "ValidationError";
  readonly issues: unknown[];
  constructor(message: string, issues: unknown[], details: ErrorDetails = {}) {
    super(message, details, "VALIDATION");
    this.issues = issues;
  }
}

/** Fires when the backend cannot be reached, always within a bounded time. */
export class ConnectionError extends AnystoreError {
  override name = "ConnectionError";
  override readonly code = "CONNECTION";
}

/**
 * True when `error` is an anystore error (optionally of one `code`), also for errors thrown
 * by another copy of the package or in another realm.
 * @example
 * if (isAnystoreError(e, "NOT_FOUND")) return null;
 */
export function isAnystoreError(error: unknown, code?: ErrorCode): error is AnystoreError {
  if (typeof error !== "object" || error === null) return false;
  if (!(error as Record<symbol, unknown>)[BRAND]) return false;
  return code === undefined || (error as AnystoreError).code === code;
}

/** Adds `key` and `store` to an anystore error that lacks them; wraps anything else as IO. */
export function withContext(error: unknown, key: string | undefined, store: string): AnystoreError {
  if (isAnystoreError(error)) {
    if (error.key === undefined && key !== undefined) error.key = key;
    if (error.store === undefined) error.store = store;
    return error;
  }
  const message = error instanceof Error ? error.message : String(error);
  return new AnystoreError(message, { key, store, cause: error });
}
