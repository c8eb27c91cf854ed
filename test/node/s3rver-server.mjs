/**
 * Runs s3rver (an S3-compatible test server) in its own process, for the s3 tests and bench:
 * `node --openssl-legacy-provider test/node/s3rver-server.mjs DIR [BUCKET...]` prints `{"port":N}`
 * once listening on 127.0.0.1 and stops on SIGTERM or when stdin closes. Each BUCKET is created
 * at start with the CORS rule README's S3 section asks for, for pages served from loopback.
 *
 * Own process because s3rver signs ListObjectsV2 continuation tokens with DES, which OpenSSL 3
 * only offers with the legacy provider (a flag the test runner cannot take), and so its CPU and
 * memory stay out of the client's measurements.
 *
 * Gaps of s3rver 3.7 are filled here, following the S3 API reference, because the driver
 * relies on them with real S3: AbortMultipartUpload (DELETE ?uploadId), ListMultipartUploads
 * (GET ?uploads) and conditional writes (`If-None-Match: *` on PutObject and
 * CompleteMultipartUpload: 412 when the key exists). Its listing is redone to S3's rules (below).
 */
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

const require = createRequire(import.meta.url);
const S3Object = require("s3rver/lib/models/object.js");

const FilesystemStore = require("s3rver/lib/stores/filesystem.js");
const OBJECT = "._S3rver_object";
const utf8Compare = (a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b));

/**
 * ListObjects as S3 does it: keys in UTF-8 binary order after start-after, and common prefixes
 * at any depth (s3rver walks in readdir order and never looks below a delimiter).
 */
FilesystemStore.prototype.listObjects = async function listObjects(bucket, options) {
  const { delimiter = "", startAfter = "", prefix = "", maxKeys = Infinity } = options;
  const base = prefix.slice(0, prefix.lastIndexOf("/") + 1);
  const keys = [];
  const visit = (dir, rel) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) {
        if (!(rel === "" && name === "._S3rver_uploads")) visit(path, `${rel}${name}/`);
      } else if (name.endsWith(OBJECT)) {
        keys.push(rel + name.slice(0, -OBJECT.length));
      }
    }
  };
  const root = join(this.getBucketPath(bucket), base);
  if (existsSync(root)) visit(root, base);
  const objects = [];
  const commonPrefixes = new Set();
  let isTruncated = false;
  const sorted = keys.filter((k) => k.startsWith(prefix) && utf8Compare(k, startAfter) > 0).sort(utf8Compare);
  for (const key of sorted) {
    const cut = delimiter ? key.indexOf(delimiter, prefix.length) : -1;
    if (cut !== -1) {
      commonPrefixes.add(key.slice(0, cut + delimiter.length));
      continue;
    }
    if (objects.length >= maxKeys) {
      isTruncated = true;
      break;
    }
    objects.push(key);
  }
  const metadata = await Promise.all(objects.map((key) => this.getMetadata(bucket, key).catch(() => undefined)));
  return {
    objects: objects.flatMap((key, i) => (metadata[i] ? [new S3Object(bucket, key, null, metadata[i])] : [])),
    commonPrefixes: [...commonPrefixes].sort(utf8Compare),
    isTruncated,
  };
};

const S3rver = require("s3rver");
const cors = require("s3rver/lib/middleware/cors.js")();
const [directory, ...corsBuckets] = process.argv.slice(2);
if (!directory) throw new Error("usage: s3rver-server.mjs DIR [BUCKET...]");

/** What a page on any loopback origin needs: the methods the driver sends, any request header, the response headers it reads. */
const LOOPBACK_CORS =
  "<CORSConfiguration><CORSRule>" +
  ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"]
    .map((o) => `<AllowedOrigin>${o}</AllowedOrigin>`)
    .join("") +
  ["GET", "PUT", "POST", "DELETE", "HEAD"].map((m) => `<AllowedMethod>${m}</AllowedMethod>`).join("") +
  "<AllowedHeader>*</AllowedHeader>" +
  ["ETag", "x-amz-meta-anystore-expires", "x-amz-request-id"].map((h) => `<ExposeHeader>${h}</ExposeHeader>`).join("") +
  "</CORSRule></CORSConfiguration>";

const server = new S3rver({
  address: "127.0.0.1",
  port: 0,
  silent: true,
  directory,
  allowMismatchedSignatures: false,
  configureBuckets: corsBuckets.map((name) => ({ name, configs: [LOOPBACK_CORS] })),
});

const uploadsDir = (bucket) => join(directory, bucket, "._S3rver_uploads");

/** AbortMultipartUpload and ListMultipartUploads, ahead of s3rver's router (with its CORS headers, for pages). */
server.middleware.unshift(async (ctx, next) => {
  const [, bucket, ...rest] = ctx.path.split("/");
  const abort = ctx.method === "DELETE" && "uploadId" in ctx.query && rest.length > 0;
  const list = ctx.method === "GET" && "uploads" in ctx.query && rest.join("") === "";
  if (!bucket || !(abort || list)) return next();
  ctx.params = { bucket };
  return cors(ctx, async () => (abort ? abortUpload(ctx, bucket) : listUploads(ctx, bucket)));
});

/** The conditional writes of each object in progress: one at a time, so check and write are atomic. */
const conditional = new Map();

/**
 * If-None-Match: * on PutObject and CompleteMultipartUpload (as S3 has had since 2024): 412
 * PreconditionFailed when the key exists, else the write, with no other conditional write of
 * the key in between.
 */
server.middleware.unshift(async (ctx, next) => {
  const [, bucket, ...rest] = ctx.path.split("/");
  const putObject = ctx.method === "PUT" && !("partNumber" in ctx.query) && !("uploadId" in ctx.query);
  const complete = ctx.method === "POST" && "uploadId" in ctx.query;
  if (ctx.get("if-none-match").trim() !== "*" || !(putObject || complete) || !bucket || rest.join("") === "")
    return next();
  const key = decodeURIComponent(rest.join("/"));
  const id = `${bucket}/${key}`;
  const before = conditional.get(id) ?? Promise.resolve();
  let release;
  const done = new Promise((resolve) => (release = resolve));
  const mine = before.then(() => done);
  conditional.set(id, mine);
  await before;
  try {
    if (!(await server.store.existsObject(bucket, key))) return await next();
    ctx.params = { bucket };
    return await cors(ctx, async () => {
      ctx.status = 412;
      ctx.type = "application/xml";
      ctx.body =
        "<Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message><Condition>If-None-Match</Condition></Error>";
    });
  } finally {
    release();
    if (conditional.get(id) === mine) conditional.delete(id);
  }
});

function abortUpload(ctx, bucket) {
  const dir = join(uploadsDir(bucket), String(ctx.query.uploadId));
  if (!/^[0-9a-f]+$/.test(String(ctx.query.uploadId)) || !existsSync(dir)) {
    ctx.status = 404;
    ctx.type = "application/xml";
    ctx.body = "<Error><Code>NoSuchUpload</Code><Message>The specified upload does not exist.</Message></Error>";
    return;
  }
  rmSync(dir, { recursive: true, force: true });
  ctx.status = 204;
}

function listUploads(ctx, bucket) {
  const prefix = String(ctx.query.prefix ?? "");
  const dir = uploadsDir(bucket);
  const uploads = existsSync(dir)
    ? readdirSync(dir)
        .map((id) => ({ id, key: readFileSync(join(dir, id, "key"), "utf8") }))
        .filter((u) => u.key.startsWith(prefix))
    : [];
  const esc = (s) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  ctx.type = "application/xml";
  ctx.body =
    `<?xml version="1.0" encoding="UTF-8"?><ListMultipartUploadsResult><Bucket>${esc(bucket)}</Bucket>` +
    `<Prefix>${esc(prefix)}</Prefix><IsTruncated>false</IsTruncated>` +
    uploads.map((u) => `<Upload><Key>${esc(u.key)}</Key><UploadId>${u.id}</UploadId></Upload>`).join("") +
    `</ListMultipartUploadsResult>`;
}

const { port } = await server.run();
process.stdout.write(`${JSON.stringify({ port })}\n`);

const stop = () => server.close(() => process.exit(0));
process.on("SIGTERM", stop);
process.stdin.on("end", stop);
process.stdin.resume();
