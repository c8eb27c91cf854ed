/**
 * The anystore HTTP protocol (SPEC 8), the parts both halves share: how keys travel in a
 * path, which headers carry metadata, how ranges are written and how errors map to statuses.
 * Compatible with Python anystore's REST app (`anystore.api`). Web APIs only.
 */

import type { ByteRange, DriverInfo } from "../driver/contract.js";
import type { ErrorCode, ErrorDetails } from "../errors.js";
import {
  AlreadyExistsError,
  AnystoreError,
  ConflictError,
  ConnectionError,
  InvalidArgumentError,
  InvalidKeyError,
  NotFoundError,
  ReadOnlyError,
  SerializationError,
  UnsupportedError,
} from "../errors.js";

/** Metadata headers, as Python anystore names them (`x-anystore-` + the Stats field, `_` as `-`). */
export const H = {
  key: "x-anystore-key",
  name: "x-anystore-name",
  size: "x-anystore-size",
  store: "x-anystore-store",
  mimetype: "x-anystore-mimetype",
  createdAt: "x-anystore-created-at",
  updatedAt: "x-anystore-updated-at",
  checksum: "x-anystore-checksum",
  ttl: "x-anystore-ttl",
  /** Our addition: the error code, so a client rebuilds the exact error class. */
  error: "x-anystore-error",
} as const;

/** The methods the protocol answers. */
export const METHODS = ["GET", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS"] as const;

/** Headers a browser page may read from a cross-origin response. */
export const EXPOSED_HEADERS = [
  "content-length",
  "content-range",
  "content-type",
  "etag",
  "last-modified",
  "accept-ranges",
  ...Object.values(H),
].join(", ");

/** A key as a URL path: each segment percent-encoded, so `a b/c?d` is `a%20b/c%3Fd`. */
export function encodeKey(key: string): string {
  // Most keys need no escaping at all: skip the split and join.
  if (SAFE_PATH.test(key)) return key;
  return key.split("/").map(encodeURIComponent).join("/");
}

/** What encodeURIComponent leaves alone, plus the separator: the fast path gives the same bytes. */
const SAFE_PATH = /^[A-Za-z0-9._~!'()*/-]*$/;

/** A `Range` header for an end-exclusive range; undefined when the whole value is asked for. */
export function rangeHeader(range: ByteRange | undefined): string | undefined {
  if (!range || ((range.start ?? 0) === 0 && range.end === undefined)) return undefined;
  return `bytes=${range.start ?? 0}-${range.end === undefined ? "" : range.end - 1}`;
}

/**
 * Parses a single `bytes=` range against a size into an end-exclusive range.
 * Returns `"invalid"` for a malformed header (400) and `"unsatisfiable"` (416) when no byte
 * of the value is inside it.
 */
export function parseRange(header: string, size: number): Required<ByteRange> | "invalid" | "unsatisfiable" {
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match) return "invalid";
  const [, a = "", b = ""] = match;
  if (a === "" && b === "") return "invalid";
  if (a === "") {
    const suffix = Number(b);
    if (suffix === 0 || size === 0) return "unsatisfiable";
    return { start: Math.max(size - suffix, 0), end: size };
  }
  const start = Number(a);
  const last = b === "" ? Infinity : Number(b);
  if (!Number.isSafeInteger(start) || last < start || (b !== "" && !Number.isSafeInteger(last))) return "invalid";
  if (start >= size) return "unsatisfiable";
  return { start, end: Math.min(last + 1, size) };
}

/** A weak validator from size and time, for drivers that keep no etag of their own. */
export function weakEtag(size: number, time: Date | null): string {
  return `W/"${size.toString(16)}-${(time?.getTime() ?? 0).toString(16)}"`;
}

const date = (value: string | null): Date | null => {
  if (!value) return null;
  const parsed = new Date(value);
  return Number.isNaN(parsed.getTime()) ? null : parsed;
};

/** What a GET or HEAD response says about a value; works for plain web servers too. */
export function infoFromHeaders(headers: Headers): DriverInfo {
  const sizeText = headers.get(H.size) ?? headers.get("content-length");
  const info: DriverInfo = {
    size: sizeText === null ? 0 : Number(sizeText),
    createdAt: date(headers.get(H.createdAt)),
    updatedAt: date(headers.get(H.updatedAt)) ?? date(headers.get("last-modified")),
  };
  const contentType = headers.get(H.mimetype) ?? headers.get("content-type")?.split(";")[0]?.trim();
  if (contentType) info.contentType = contentType;
  const etag = headers.get("etag");
  if (etag) info.etag = etag;
  return info;
}

/** The HTTP status for an error; anything not ours is a 500. */
export function statusOf(error: unknown): number {
  switch ((error as { code?: ErrorCode } | null)?.code) {
    case "INVALID_KEY":
    case "INVALID_ARGUMENT":
      return 400;
    case "NOT_FOUND":
      return 404;
    case "CONFLICT":
      return 409;
    case "ALREADY_EXISTS":
      return 412;
    case "READ_ONLY":
      return 403;
    case "VALIDATION":
    case "SERIALIZATION":
      return 422;
    case "UNSUPPORTED":
      return 501;
    case "CONNECTION":
      return 503;
    default:
      return 500;
  }
}

const CLASSES: Partial<Record<ErrorCode, new (message: string, details?: ErrorDetails) => AnystoreError>> = {
  NOT_FOUND: NotFoundError,
  ALREADY_EXISTS: AlreadyExistsError,
  CONFLICT: ConflictError,
  INVALID_KEY: InvalidKeyError,
  INVALID_ARGUMENT: InvalidArgumentError,
  READ_ONLY: ReadOnlyError,
  UNSUPPORTED: UnsupportedError,
  SERIALIZATION: SerializationError,
  CONNECTION: ConnectionError,
};

/**
 * An error response the client could not map to a more precise class; `status` is the
 * HTTP status (401 and 403 included).
 */
export class HttpError extends AnystoreError {
  override name = "HttpError";
  readonly status: number;
  constructor(message: string, status: number, details: ErrorDetails = {}) {
    super(message, details, "IO");
    this.status = status;
  }
}

/** Rebuilds the server's error from an error response: by `x-anystore-error` when present, else by status. */
export function errorFromResponse(
  status: number,
  headers: Headers,
  body: string,
  details: ErrorDetails,
): AnystoreError {
  const line = body.split("\n", 1)[0]!.trim().slice(0, 500);
  const message = line.replace(/^[A-Za-z]+Error: /, "") || `HTTP ${status}`;
  const code = headers.get(H.error) as ErrorCode | null;
  const Class = code ? CLASSES[code] : undefined;
  if (Class) return new Class(message, details);
  if (status === 404) return new NotFoundError(message, details);
  if (status === 412) return new AlreadyExistsError(message, details);
  if (status === 401)
    return new HttpError(
      `unauthorized (401): the server wants a bearer token (option "token"): ${message}`,
      401,
      details,
    );
  if (status === 403) return new HttpError(`forbidden (403): ${message}`, 403, details);
  return new HttpError(`HTTP ${status}: ${message}`, status, details);
}
