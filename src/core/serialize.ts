import { InvalidArgumentError, SerializationError, ValidationError } from "./errors.js";

/** How values become bytes and back (SPEC 4). */
export type Serialization = "auto" | "json" | "raw";

/** The part of a zod schema anystore uses; any zod 3/4 schema fits. */
export interface SchemaLike<T = unknown> {
  safeParse(value: unknown): { success: true; data: T } | { success: false; error: { issues: unknown[] } };
}

export interface Codec {
  serialization: Serialization;
  serialize?: ((value: unknown) => Uint8Array | string) | undefined;
  deserialize?: ((bytes: Uint8Array) => unknown) | undefined;
  schema?: SchemaLike | undefined;
}

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

export function decodeUtf8(bytes: Uint8Array): string {
  return strictDecoder.decode(bytes);
}

const MODES = new Set(["auto", "json", "raw"]);
export function checkSerialization(mode: unknown): Serialization {
  if (typeof mode === "string" && MODES.has(mode)) return mode as Serialization;
  throw new InvalidArgumentError(`unknown serialization ${JSON.stringify(mode)}: use "auto", "json" or "raw"`);
}

/** True for values `put` streams as raw bytes. */
export function isStreamLike(value: unknown): value is ReadableStream<Uint8Array> | Blob {
  // Strings and numbers skip the instanceof checks (Node's Blob global is a getter).
  if (typeof value !== "object" || value === null) return false;
  return (
    (typeof ReadableStream !== "undefined" && value instanceof ReadableStream) ||
    (typeof Blob !== "undefined" && value instanceof Blob)
  );
}

/** Binary values are stored as they are in every mode. */
export function asBytes(value: unknown): Uint8Array | undefined {
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  return undefined;
}

function toJson(value: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value === undefined ? null : value);
  } catch (cause) {
    throw new SerializationError(`value cannot be encoded as JSON: ${(cause as Error).message}`, { cause });
  }
  if (text === undefined) throw new SerializationError(`value of type ${typeof value} cannot be encoded as JSON`);
  return text;
}

/** Encodes a value to bytes by the codec. Throws before anything is written. `copy`: copy caller-owned bytes. */
export function encodeValue(value: unknown, codec: Codec, copy = true): Uint8Array {
  const encoded = encodeTextOrBytes(value, codec, copy);
  return typeof encoded === "string" ? utf8(encoded) : encoded;
}

/**
 * `ValidationError` whose message names the first issue as zod reports it (`path`, `message`):
 * "value does not match the schema: at title: Invalid input: expected string, received number
 * (and 2 more)". All issues stay in `issues`. Kept small: it sits in the hot chunk.
 */
function schemaMismatch(what: string, issues: unknown[]): ValidationError {
  const first = issues[0] as { path?: unknown[]; message?: string } | undefined;
  const at = first?.path?.length ? `at ${first.path.join(".")}: ` : "";
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : "";
  return new ValidationError(first ? `${what}: ${at}${first.message}${more}` : what, issues);
}

/**
 * Encodes a value by the codec, leaving text as a string (its bytes are its UTF-8), so a driver
 * that can keep text skips the encoding. `copy` copies caller-owned bytes: needed only for
 * drivers that keep what they are given (`sharesBuffers`). Throws before anything is written.
 */
export function encodeTextOrBytes(value: unknown, codec: Codec, copy: boolean): string | Uint8Array {
  if (codec.schema) {
    const result = codec.schema.safeParse(value);
    if (!result.success) throw schemaMismatch("value does not match the schema", result.error.issues);
    return toJson(value);
  }
  if (codec.serialize) return codec.serialize(value);
  if (typeof value === "string") {
    if (codec.serialization === "json") return toJson(value);
    return value;
  }
  const bytes = asBytes(value);
  if (bytes) return copy ? bytes.slice() : bytes;
  if (codec.serialization === "raw")
    throw new SerializationError(`raw serialization stores bytes or strings, got ${describe(value)}`);
  return toJson(value);
}

/** True when a string's UTF-8 decodes back to the same string (no lone surrogates). */
export function isWellFormed(text: string): boolean {
  const check = (text as { isWellFormed?: () => boolean }).isWellFormed;
  return check ? check.call(text) : !/[\uD800-\uDFFF]/.test(text);
}

function describe(value: unknown): string {
  return value === null ? "null" : Array.isArray(value) ? "an array" : typeof value;
}

/** First characters a JSON text can start with; anything else is plain text, skipping a costly failed parse. */
function mayBeJson(text: string): boolean {
  let i = 0;
  let c = text.charCodeAt(0);
  // JSON whitespace, then the first character; trimStart would also skip other Unicode spaces, which JSON.parse rejects anyway.
  while (c === 32 || c === 9 || c === 10 || c === 13) c = text.charCodeAt(++i);
  // { [ " - 0-9 t f n
  return c === 123 || c === 91 || c === 34 || c === 45 || (c >= 48 && c <= 57) || c === 116 || c === 102 || c === 110;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new SerializationError(`stored value is not valid JSON: ${(cause as Error).message}`, { cause });
  }
}

/** Whether a codec reads a value from its text (schema, json, auto) or from its bytes (raw, custom). */
function readsText(codec: Codec): boolean {
  return codec.schema !== undefined || (!codec.deserialize && codec.serialization !== "raw");
}

/** Decodes stored bytes by the codec; `shared` bytes belong to the driver and are copied before they reach a caller. */
export function decodeValue(bytes: Uint8Array, codec: Codec, shared = false): unknown {
  if (!readsText(codec)) return fromBytes(shared ? bytes.slice() : bytes, codec);
  let text: string;
  try {
    text = decodeUtf8(bytes);
  } catch (cause) {
    if (codec.schema || codec.serialization === "json")
      throw new SerializationError("stored value is not valid UTF-8", { cause });
    // auto: bytes that are not text are bytes
    return shared ? bytes.slice() : bytes;
  }
  return fromText(text, codec);
}

/** Decodes a value stored as text: the same result as `decodeValue` on its UTF-8 bytes, without making them. */
export function decodeStoredText(text: string, codec: Codec): unknown {
  return readsText(codec) ? fromText(text, codec) : fromBytes(utf8(text), codec);
}

function fromBytes(bytes: Uint8Array, codec: Codec): unknown {
  return codec.deserialize ? codec.deserialize(bytes) : bytes;
}

function fromText(text: string, codec: Codec): unknown {
  if (codec.schema) {
    const result = codec.schema.safeParse(parseJson(text));
    if (!result.success) throw schemaMismatch("stored value does not match the schema", result.error.issues);
    return result.data;
  }
  if (codec.serialization === "json") return parseJson(text);
  // auto: JSON when it parses, else the text
  if (!mayBeJson(text)) return text;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
