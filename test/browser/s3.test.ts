/**
 * The s3 driver in Chromium against s3rver on loopback (started by the browser project's
 * globalSetup). The page is another origin, so every request goes through the bucket's CORS
 * rule: the one README's S3 section documents.
 */
import { AwsClient } from "aws4fetch";
import { afterEach, describe, expect, inject, it, vi } from "vitest";
import type { StoreOptions } from "../../src/index.browser.js";
import { createStore } from "../../src/index.browser.js";
import { contractSuite, readAll, rejectsWith } from "../shared/contract.js";

const MiB = 1024 * 1024;
const endpoint = inject("s3Endpoint");
const bucket = inject("s3Bucket");
const credentials = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };
const raw = new AwsClient({ ...credentials, service: "s3", region: "us-east-1", retries: 0 });
const run = `c-${Date.now().toString(36)}`;
let counter = 0;

/** A fresh prefix of the CORS-enabled bucket. */
const makeStore = (options: StoreOptions = {}) =>
  createStore(`s3://${bucket}/${run}-${++counter}`, { endpoint, ...credentials, ...options });

/** Multipart uploads in progress in the bucket (ListMultipartUploads, signed by the page). */
async function uploadsInProgress(): Promise<number> {
  const response = await raw.fetch(`${endpoint}/${bucket}?uploads&prefix=${run}`);
  expect(response.status).toBe(200);
  return [...(await response.text()).matchAll(/<Upload>/g)].length;
}

/** `size` bytes in 1 MiB chunks, byte i being i % 251 (so parts never repeat at 5 MiB boundaries). */
function pattern(size: number): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent >= size) return controller.close();
      const n = Math.min(MiB, size - sent);
      controller.enqueue(new Uint8Array(n).map((_, i) => (sent + i) % 251));
      sent += n;
    },
  });
}

function firstMismatch(bytes: Uint8Array, from = 0): number {
  for (let i = 0; i < bytes.byteLength; i++) if (bytes[i] !== (from + i) % 251) return i;
  return -1;
}

afterEach(() => {
  vi.restoreAllMocks();
});

contractSuite({
  name: "s3 (chromium, s3rver)",
  make: (options) => makeStore(options),
  reopen: (store) => createStore(store.uri, { endpoint, ...credentials }),
});

describe("s3 in Chromium", () => {
  it("a streamed write of more than 3 parts is a multipart upload; the bytes come back", async () => {
    const store = makeStore({ partSize: 5 * MiB });
    const size = 21 * MiB + 123;
    const spy = vi.spyOn(globalThis, "fetch");
    await store.put("big.bin", pattern(size));
    const calls = spy.mock.calls.map(([input, init]) => `${init?.method ?? "GET"} ${String(input)}`);
    spy.mockRestore();
    expect(calls.filter((c) => c.startsWith("POST") && c.endsWith("?uploads"))).toHaveLength(1);
    expect(calls.filter((c) => c.startsWith("PUT") && c.includes("partNumber="))).toHaveLength(5);
    expect(calls.filter((c) => c.startsWith("POST") && c.includes("uploadId="))).toHaveLength(1);
    expect(await uploadsInProgress()).toBe(0);
    const info = await store.info("big.bin");
    expect(info.size).toBe(size);
    expect(info.etag).toMatch(/^"[0-9a-f-]+"$/);
    const back = await readAll(await store.open("big.bin"));
    expect(back.byteLength).toBe(size);
    expect(firstMismatch(back)).toBe(-1);
    const across = await readAll(await store.open("big.bin", "r", { start: 5 * MiB - 2, end: 5 * MiB + 2 }));
    expect(firstMismatch(across, 5 * MiB - 2)).toBe(-1);
  });

  it("abort() of a multipart write aborts the upload and keeps the old value", async () => {
    const store = makeStore({ partSize: 5 * MiB });
    await store.put("v", "old");
    const writer = (await store.open("v", "w")).getWriter();
    for (let i = 0; i < 11; i++) await writer.write(new Uint8Array(MiB));
    expect(await uploadsInProgress()).toBe(1);
    await writer.abort(new Error("stop"));
    expect(await uploadsInProgress()).toBe(0);
    expect(await store.get("v")).toBe("old");
  });

  it("store.url presigns a GET the page fetches directly, without credentials", async () => {
    const store = makeStore();
    await store.put("docs/report.txt", "private bytes");
    const url = await store.url("docs/report.txt", { expires: 60 });
    expect(url).toContain("X-Amz-Signature=");
    const response = await fetch(url);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("private bytes");
    const missing = await fetch(await store.url("docs/none.txt", { expires: 60 }));
    expect(missing.status).toBe(404);
    await missing.body?.cancel();
    await rejectsWith(store.url("docs/report.txt", { expires: 0 }), "INVALID_ARGUMENT");
  });
});
