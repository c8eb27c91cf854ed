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

/** Encodes a value to bytes by the codec. Throws before anything is written. */
export function encodeValue(value: unknown, codec: Codec): Uint8Array {
  if (codec.schema) {
    const result = codec.schema.safeParse(value);
    if (!result.success) throw new ValidationError("value does not match the schema", result.error.issues);
    return utf8(toJson(value));
  }
  if (codec.serialize) {
    const out = codec.serialize(value);
    return typeof out === "string" ? utf8(out) : out;
  }
  const bytes = asBytes(value);
  // A copy: the caller may reuse the buffer, and drivers may keep what they get.
  if (bytes) return bytes.slice();
  switch (codec.serialization) {
    case "raw":
      if (typeof value === "string") return utf8(value);
      throw new SerializationError(`raw serialization stores bytes or strings, got ${describe(value)}`);
    case "json":
      return utf8(toJson(value));
    default:
      return utf8(typeof value === "string" ? value : toJson(value));
  }
}

function describe(value: unknown): string {
  return value === null ? "null" : Array.isArray(value) ? "an array" : typeof value;
}

/** First characters a JSON text can start with; anything else is plain text, skipping a costly failed parse. */
function mayBeJson(text: string): boolean {
  const c = text.trimStart().charCodeAt(0);
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

/** Decodes stored bytes by the codec; `shared` bytes belong to the driver and are copied before they reach a caller. */
export function decodeValue(bytes: Uint8Array, codec: Codec, shared = false): unknown {
  if (codec.schema) {
    const result = codec.schema.safeParse(parseJson(decodeText(bytes)));
    if (!result.success) throw new ValidationError("stored value does not match the schema", result.error.issues);
    return result.data;
  }
  if (codec.deserialize) return codec.deserialize(shared ? bytes.slice() : bytes);
  switch (codec.serialization) {
    case "raw":
      return shared ? bytes.slice() : bytes;
    case "json":
      return parseJson(decodeText(bytes));
    default: {
      const value = decodeAuto(bytes);
      return shared && value === bytes ? bytes.slice() : value;
    }
  }
}

function decodeText(bytes: Uint8Array): string {
  try {
    return decodeUtf8(bytes);
  } catch (cause) {
    throw new SerializationError("stored value is not valid UTF-8", { cause });
  }
}

/** auto: JSON when it parses, else UTF-8 text, else the bytes. */
function decodeAuto(bytes: Uint8Array): unknown {
  let text: string;
  try {
    text = decodeUtf8(bytes);
  } catch {
    return bytes;
  }
  if (!mayBeJson(text)) return text;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
