/** The s3 driver's options checked and turned into the client's configuration (environment variables filled in). */
import { InvalidArgumentError } from "../../../core/errors.js";
import type { S3ClientConfig } from "./client.js";
import type { S3DriverOptions } from "./s3.js";

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
    throw new InvalidArgumentError("S3 credentials need both accessKeyId and secretAccessKey (or neither, for unsigned requests)");
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
    throw new InvalidArgumentError(`S3 option ${name} must be a whole number${zeroOk ? " >= 0" : " > 0"}, got ${String(value)}`);
  }
  return value;
}
