/**
 * Python anystore's `make_signature_key`, byte for byte, so a Python service and a TypeScript
 * one share cache entries. Python hashes `(args, kwargs)` through `banal.cache.bytes_iter`:
 * strings as UTF-8, `None` as nothing, numbers as `str(n)`, mappings by sorted key (key bytes,
 * then value bytes), lists sorted when Python can sort them, tuples in order; then sha256 hex.
 *
 * JavaScript has one number type, so safe integers are Python ints (`1` -> `"1"`) and any other
 * number is a Python float (`1.5`, `1e-07`, `1e+22`). Booleans are `True`/`False`, `undefined` is
 * `None`, a `Date` is Python's `isoformat()` of an aware UTC datetime, bytes are themselves.
 */

import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import { InvalidArgumentError } from "./errors.js";

const encoder = new TextEncoder();

/**
 * The default anycache key: sha256 hex over the arguments, as Python anystore computes it.
 * @example
 * makeSignatureKey("x"); // "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881" (sha256 of "x")
 * makeSignatureKey(1, "foo", { bar: "baz" }); // equals Python's make_signature_key(1, "foo", bar="baz")
 */
export function makeSignatureKey(...args: unknown[]): string {
  const hash = sha256.create();
  // The top level is Python's `args` tuple: kept in order, never sorted.
  for (const arg of args) feed(arg, (bytes) => hash.update(bytes), new Set());
  return bytesToHex(hash.digest());
}

type Sink = (bytes: Uint8Array) => void;

/** The text Python's `str()` gives a scalar (or a date), or undefined for bytes and containers. */
function scalarText(value: unknown): string | undefined {
  switch (typeof value) {
    case "string":
      return value;
    case "number":
      return pyNumber(value);
    case "bigint":
      return value.toString();
    case "boolean":
      return value ? "True" : "False";
    case "function":
      return value.name;
    case "symbol":
      return String(value);
  }
  return value instanceof Date ? pyIsoformat(value) : undefined;
}

function feed(value: unknown, sink: Sink, seen: Set<object>): void {
  if (value === null || value === undefined) return;
  const text = scalarText(value);
  if (text !== undefined) {
    sink(encoder.encode(text));
    return;
  }
  const object = value as object;
  if (object instanceof Uint8Array || object instanceof ArrayBuffer) {
    sink(object instanceof Uint8Array ? object : new Uint8Array(object));
    return;
  }
  if (seen.has(object)) throw new InvalidArgumentError("cannot make a cache key of a value with cycles");
  seen.add(object);
  try {
    if (Array.isArray(object) || object instanceof Set) {
      const items = [...(object as Iterable<unknown>)];
      for (const item of pySorted(items)) feed(item, sink, seen);
      return;
    }
    const entries = object instanceof Map ? [...object.entries()] : objectEntries(object);
    let sorted: Array<[unknown, unknown]>;
    try {
      sorted = [...entries].sort(([a], [b]) => pyCompare(a, b));
    } catch {
      throw new InvalidArgumentError("cannot make a cache key of a mapping whose keys cannot be ordered");
    }
    for (const [key, item] of sorted) {
      feed(key, sink, seen);
      feed(item, sink, seen);
    }
  } finally {
    seen.delete(object);
  }
}

/** Own enumerable properties, like JSON: keys whose value is `undefined` are absent. */
function objectEntries(object: object): Array<[string, unknown]> {
  const json = (object as { toJSON?: () => unknown }).toJSON;
  if (typeof json === "function") {
    const plain = json.call(object);
    if (plain !== null && typeof plain === "object") return objectEntries(plain);
    return [["", plain]];
  }
  return Object.entries(object).filter(([, v]) => v !== undefined);
}

/** Python's `str()` of the number: an int for safe integers, else a float repr. */
export function pyNumber(n: number): string {
  if (Number.isSafeInteger(n)) return String(n === 0 ? 0 : n);
  if (Number.isNaN(n)) return "nan";
  if (!Number.isFinite(n)) return n > 0 ? "inf" : "-inf";
  const sign = n < 0 ? "-" : "";
  // toExponential() without digits gives the shortest round-trip digits, as Python's repr does.
  const [mantissa, exp] = Math.abs(n).toExponential().split("e") as [string, string];
  const digits = mantissa.replace(".", "");
  const e = Number(exp);
  if (e < -4 || e >= 16) {
    const body = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    return `${sign}${body}e${e < 0 ? "-" : "+"}${String(Math.abs(e)).padStart(2, "0")}`;
  }
  if (e < 0) return `${sign}0.${"0".repeat(-e - 1)}${digits}`;
  const whole = digits.slice(0, e + 1).padEnd(e + 1, "0");
  const fraction = digits.slice(e + 1) || "0";
  return `${sign}${whole}.${fraction}`;
}

/** `datetime.isoformat()` of an aware UTC datetime: microseconds only when not zero. */
function pyIsoformat(date: Date): string {
  const iso = date.toISOString(); // 2024-01-02T03:04:05.678Z
  const ms = date.getUTCMilliseconds();
  return `${iso.slice(0, 19)}${ms === 0 ? "" : `.${String(ms * 1000).padStart(6, "0")}`}+00:00`;
}

/** Python's `sorted(list)`, or the list as it is when Python would raise `TypeError`. */
function pySorted(items: unknown[]): unknown[] {
  try {
    return [...items].sort(pyCompare); // stable, as Python's sort
  } catch {
    return items;
  }
}

class Unorderable extends Error {}

type Kind = "number" | "string" | "bytes" | "list" | "other";

function kindOf(value: unknown): Kind {
  switch (typeof value) {
    case "number":
    case "boolean":
    case "bigint":
      return "number";
    case "string":
      return "string";
  }
  if (value instanceof Uint8Array) return "bytes";
  if (Array.isArray(value)) return "list";
  return "other";
}

/** Python's `<` as a comparator; throws `Unorderable` where Python raises `TypeError`. */
function pyCompare(a: unknown, b: unknown): number {
  const kind = kindOf(a);
  if (kind !== kindOf(b) || kind === "other") throw new Unorderable();
  switch (kind) {
    case "number": {
      const x = Number(a);
      const y = Number(b);
      return x < y ? -1 : x > y ? 1 : 0;
    }
    case "string":
      return compareCodePoints(a as string, b as string);
    case "bytes":
      return compareBytes(a as Uint8Array, b as Uint8Array);
    default:
      return compareLists(a as unknown[], b as unknown[]);
  }
}

/** Python compares lists at the first index whose items are not `==`, else by length. */
function compareLists(a: unknown[], b: unknown[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (!pyEquals(a[i], b[i])) return pyCompare(a[i], b[i]);
  }
  return a.length - b.length;
}

function pyEquals(a: unknown, b: unknown): boolean {
  if (a === b || ((a === null || a === undefined) && (b === null || b === undefined))) return true;
  const kind = kindOf(a);
  if (kind !== kindOf(b)) return false;
  switch (kind) {
    case "number":
      return Number(a) === Number(b);
    case "bytes":
      return compareBytes(a as Uint8Array, b as Uint8Array) === 0;
    case "list":
      return (
        (a as unknown[]).length === (b as unknown[]).length &&
        (a as unknown[]).every((x, i) => pyEquals(x, (b as unknown[])[i]))
      );
    case "other":
      return isPlainObject(a) && isPlainObject(b) && objectsEqual(a, b);
    default:
      return false;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== "object") return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function objectsEqual(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  const keys = Object.keys(a).filter((k) => a[k] !== undefined);
  const other = Object.keys(b).filter((k) => b[k] !== undefined);
  return keys.length === other.length && keys.every((k) => k in b && pyEquals(a[k], b[k]));
}

/** Python orders strings by code point; JavaScript's `<` orders UTF-16 units, which differs above U+FFFF. */
function compareCodePoints(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a.codePointAt(i)!;
    const y = b.codePointAt(j)!;
    if (x !== y) return x - y;
    i += x > 0xffff ? 2 : 1;
    j += y > 0xffff ? 2 : 1;
  }
  return (a.length - i > 0 ? 1 : 0) - (b.length - j > 0 ? 1 : 0);
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}
