import { InvalidKeyError } from "./errors.js";
import { URI_SCHEME } from "./uri.js";

/** Segments starting with this are reserved for drivers' metadata and temporary files. */
export const RESERVED = ".anystore";

/**
 * Fast path: true for keys that are surely normalized and valid; others take the full check.
 * One pass over the characters: no leading, trailing or doubled `/`, no `./` or `:/`, no
 * trailing `.`, no backslash or NUL, no surrogate (pairs are checked on the slow path), no
 * reserved name.
 */
function isPlain(key: string): boolean {
  const n = key.length;
  let previous = 47; // as if after a "/": a leading "/" is not plain
  for (let i = 0; i < n; i++) {
    const c = key.charCodeAt(i);
    if (c === 47 /* / */) {
      if (previous === 47 || previous === 46 /* . */ || previous === 58 /* : */) return false;
    } else if (c === 92 /* \ */ || c === 0 || (c & 0xf800) === 0xd800) return false;
    previous = c;
  }
  return n > 0 && previous !== 47 && previous !== 46 && !key.includes(RESERVED);
}

/**
 * Normalizes a key (`a/./b` and `a//b` are `a/b`, a leading `./` and a trailing `/` are dropped)
 * and enforces the key rules. Throws `InvalidKeyError` and touches nothing on a bad key.
 */
export function normalizeKey(key: unknown, store?: string): string {
  if (typeof key !== "string") {
    throw new InvalidKeyError(`key must be a string, got ${typeof key}`, { store });
  }
  if (isPlain(key)) return key;
  return normalizeSlow(key, store);
}

function normalizeSlow(key: string, store?: string): string {
  const fail = (why: string): never => {
    throw new InvalidKeyError(`invalid key ${JSON.stringify(key)}: ${why}`, { key, store });
  };
  if (key.startsWith("/")) fail("absolute keys are not allowed");
  // Keys that start like a uri carry a scheme (`s3://x`); other colons are literal.
  if (URI_SCHEME.test(key)) fail("a key cannot carry a scheme");
  if (key.includes("\0")) fail("NUL bytes are not allowed");
  if (key.includes("\\")) fail("backslashes are not allowed");
  // A lone surrogate would be written as U+FFFD on fs, zip and S3: another key's name.
  if (/\p{Cs}/u.test(key)) fail("lone surrogates are not allowed");
  const segments: string[] = [];
  for (const segment of key.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") fail("'..' segments are not allowed");
    if (segment.startsWith(RESERVED)) fail(`segments starting with '${RESERVED}' are reserved`);
    segments.push(segment);
  }
  if (segments.length === 0) fail("the key is empty");
  return segments.join("/");
}

/** Normalizes a prefix; an empty or missing prefix is `""`. */
export function normalizePrefix(prefix: string | undefined, store?: string): string {
  if (prefix === undefined || prefix === "" || prefix === "/" || prefix === "." || prefix === "./") return "";
  return normalizeKey(prefix, store);
}

/** Joins a normalized prefix and a normalized key. */
export function joinKey(prefix: string, key: string): string {
  if (key === "") return prefix;
  return prefix === "" ? key : `${prefix}/${key}`;
}

/** True for keys with a reserved segment: drivers' metadata, never listed. */
export function isReservedKey(key: string): boolean {
  return key.startsWith(RESERVED) || key.includes(`/${RESERVED}`);
}
