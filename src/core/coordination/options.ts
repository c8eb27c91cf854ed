/** Option checks shared by the coordination helpers: bad options are an InvalidArgumentError at once. */
import { InvalidArgumentError } from "../errors.js";

/** A finite number above 0 (or >= 0 with `allowZero`), else InvalidArgumentError; `fallback` when absent. */
export function positive(name: string, value: unknown, fallback: number, allowZero = false): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0 || (value === 0 && !allowZero)) {
    throw new InvalidArgumentError(`${name} must be a number ${allowZero ? ">=" : ">"} 0, got ${String(value)}`);
  }
  return value;
}

/** A positive whole number, else InvalidArgumentError. */
export function positiveInteger(name: string, value: unknown, fallback: number): number {
  const n = positive(name, value, fallback);
  if (!Number.isInteger(n)) throw new InvalidArgumentError(`${name} must be a whole number, got ${String(value)}`);
  return n;
}

/**
 * A key, or a prefix without its trailing slashes; non-empty. Everything else about it is the
 * store's to check when it is used (InvalidKeyError for `..`, an absolute path, ...).
 */
export function keyPart(name: string, value: unknown, fallback: string): string {
  const text = value === undefined ? fallback : value;
  if (typeof text !== "string") throw new InvalidArgumentError(`${name} must be a string, got ${typeof text}`);
  const trimmed = text.replace(/\/+$/, "");
  if (trimmed === "") throw new InvalidArgumentError(`${name} must not be empty`);
  return trimmed;
}
