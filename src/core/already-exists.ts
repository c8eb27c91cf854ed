import type { ErrorDetails } from "./errors.js";
import { AlreadyExistsError } from "./errors.js";

/**
 * The `AlreadyExistsError` for an existing key, as the store and every driver word it. Its own
 * module, apart from errors.ts (which every app's first chunk carries), so that it travels with
 * the code that creates keys.
 */
export function alreadyExists(key: string, details?: Omit<ErrorDetails, "key">): AlreadyExistsError {
  return new AlreadyExistsError(`key already exists: ${key}`, { ...details, key });
}
