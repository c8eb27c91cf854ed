/** The s3 driver's options checked and turned into the client's configuration (environment variables filled in). */
import { InvalidArgumentError } from "../../../core/errors.js";
import { isReservedKey } from "../../../core/keys.js";
import type { S3ClientConfig } from "./client.js";

export interface S3DriverOptions {
  /** The bucket. */
  bucket: string;
  /** A folder inside the bucket that holds the store (`s3://bucket/this/folder`). @default "" */
  prefix?: string;
  /** The service URL, for S3-compatible servers (`http://127.0.0.1:9000`). @default env AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL, else AWS: https://s3.REGION.amazonaws.com */
  endpoint?: string;
  /** @default env AWS_REGION or AWS_DEFAULT_REGION, else "us-east-1" */
  region?: string;
  /** Without credentials (options or env), requests go unsigned: enough for public buckets. @default env AWS_ACCESS_KEY_ID */
  accessKeyId?: string;
  /** @default env AWS_SECRET_ACCESS_KEY */
  secretAccessKey?: string;
  /** For temporary credentials. @default env AWS_SESSION_TOKEN (only when the key id also comes from env) */
  sessionToken?: string;
  /** Path-style URLs (`endpoint/bucket/key`) instead of virtual hosts (`bucket.endpoint/key`). @default true with a custom endpoint or a dotted bucket name, else false */
  pathStyle?: boolean;
  /**
   * The server honours `If-None-Match: *` on writes (AWS since 2024, MinIO, R2), making
   * `ifNotExists` atomic. Either way the driver checks first and sends the header; this only
   * says what `capabilities.ifNotExists` declares. s3rver ignores the header.
   * @default true on AWS, false with a custom endpoint
   */
  conditionalWrites?: boolean;
  /** Bytes per part of a streamed (multipart) write; at least 5 MiB (S3's minimum). @default 8 MiB */
  partSize?: number;
  /** Parts uploaded at once; memory held is (uploadConcurrency + 1) × partSize. @default 2 */
  uploadConcurrency?: number;
  /** Keys per listing page (S3 returns at most 1,000). @default 1000 */
  pageSize?: number;
  /** Milliseconds to wait for a response before `ConnectionError` (plus upload time for bodies). @default 30000 */
  timeout?: number;
  /** Retries after a 5xx or 429 answer. @default 2 */
  retries?: number;
}

function env(name: string): string | undefined {
  const value = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.[name];
  return value === "" ? undefined : value;
}

export function clientConfig(opts: S3DriverOptions): S3ClientConfig {
  if (typeof opts.bucket !== "string" || !/^[A-Za-z0-9._-]{1,255}$/.test(opts.bucket)) {
    throw new InvalidArgumentError(`bad S3 bucket name ${JSON.stringify(opts.bucket)}`);
  }
  const region = opts.region ?? env("AWS_REGION") ?? env("AWS_DEFAULT_REGION") ?? "us-east-1";
  let endpoint = opts.endpoint ?? env("AWS_ENDPOINT_URL_S3") ?? env("AWS_ENDPOINT_URL");
  const custom = endpoint !== undefined;
  endpoint ??= `https://s3.${region}.amazonaws.com`;
  if (!/^https?:\/\//i.test(endpoint)) endpoint = `https://${endpoint}`;
  const accessKeyId = opts.accessKeyId ?? env("AWS_ACCESS_KEY_ID");
  const secretAccessKey = opts.secretAccessKey ?? env("AWS_SECRET_ACCESS_KEY");
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
    throw new InvalidArgumentError(
      "S3 credentials need both accessKeyId and secretAccessKey (or neither, for unsigned requests)",
    );
  }
  const sessionToken = opts.sessionToken ?? (opts.accessKeyId === undefined ? env("AWS_SESSION_TOKEN") : undefined);
  return {
    bucket: opts.bucket,
    endpoint: endpoint.replace(/\/+$/, ""),
    region,
    pathStyle: opts.pathStyle ?? (custom || opts.bucket.includes(".")),
    credentials: accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey, sessionToken } : undefined,
    timeout: positive("timeout", opts.timeout, 30_000),
    retries: positive("retries", opts.retries, 2, true),
  };
}

export function isAws(endpoint: string): boolean {
  return /\.amazonaws\.com(\.cn)?$/i.test(new URL(endpoint).hostname);
}

export function positive(name: string, value: unknown, fallback: number, zeroOk = false): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < (zeroOk ? 0 : 1)) {
    throw new InvalidArgumentError(
      `S3 option ${name} must be a whole number${zeroOk ? " >= 0" : " > 0"}, got ${String(value)}`,
    );
  }
  return value;
}

/** The driver's options from `s3://bucket[/prefix]` and the store's options (endpoint, region, credentials...). */
export function optionsFromUri(uri: string, options: Record<string, unknown>): S3DriverOptions {
  const match = /^s3:\/\/([^/?#]+)\/*([^?#]*)$/i.exec(uri);
  if (!match)
    throw new InvalidArgumentError(`bad s3 uri ${JSON.stringify(uri)}: use s3://bucket or s3://bucket/prefix`);
  const pick: Partial<S3DriverOptions> = {};
  for (const name of OPTION_NAMES)
    if (options[name] !== undefined) (pick as Record<string, unknown>)[name] = options[name];
  return { ...pick, bucket: match[1]!, prefix: match[2]! };
}

const OPTION_NAMES = [
  "endpoint",
  "region",
  "accessKeyId",
  "secretAccessKey",
  "sessionToken",
  "pathStyle",
  "conditionalWrites",
  "partSize",
  "uploadConcurrency",
  "pageSize",
  "timeout",
  "retries",
] as const;

/** The key prefix every key is stored under: `""` or ending in `/`. */
export function rootOf(prefix: string | undefined): string {
  const trimmed = (prefix ?? "").split("/").filter(Boolean).join("/");
  if (trimmed.split("/").some((s) => s === "." || s === ".." || isReservedKey(s))) {
    throw new InvalidArgumentError(`bad S3 prefix ${JSON.stringify(prefix)}`);
  }
  return trimmed === "" ? "" : `${trimmed}/`;
}
