/**
 * Browser project setup (runs in Node): serves memory stores over the anystore HTTP protocol
 * on loopback for the anystore+http tests in Chromium, s3rver with a CORS-enabled bucket for
 * the s3 tests and a CORS-open hostile site for the crawler, and hands their URLs to the page
 * through `provide` / `inject`.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { createStore, serve } from "../../src/index.node.js";
import { startBystander, startHostileSite } from "../node/crawl-server.js";
import { startS3rver } from "../node/s3rver.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** An open anystore server (memory store). */
    anystoreHttpUrl: string;
    /** One that wants the bearer token `browser-token`. */
    anystoreHttpTokenUrl: string;
    /** s3rver on loopback (credentials S3RVER / S3RVER). */
    s3Endpoint: string;
    /** A bucket there whose CORS rule admits loopback pages. */
    s3Bucket: string;
    /** The hostile site for the crawler (CORS open), its base and the bystander it must never reach. */
    crawlBase: string;
    crawlOrigin: string;
    crawlBystander: string;
  }
}

/** The vitest page is served from loopback on a port picked at start (63315 unless taken). */
const loopback = (origin: string) => /^http:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d+)?$/.test(origin);

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // s3rver first: a child process is likelier to fail to start, and then nothing is left open.
  const s3Dir = mkdtempSync(join(tmpdir(), "anystore-browser-s3rver-"));
  const s3Bucket = "browser";
  const s3 = await startS3rver(s3Dir, [s3Bucket]).catch((error) => {
    rmSync(s3Dir, { recursive: true, force: true });
    throw error;
  });
  project.provide("s3Endpoint", s3.endpoint);
  project.provide("s3Bucket", s3Bucket);
  const open = await serve(createStore("memory://"), { cors: loopback });
  const guarded = await serve(createStore("memory://"), {
    cors: loopback,
    token: "browser-token",
    maxBodyBytes: 64 * 2 ** 20,
  });
  project.provide("anystoreHttpUrl", open.url);
  project.provide("anystoreHttpTokenUrl", guarded.url);
  const bystander = await startBystander(true);
  const site = await startHostileSite(bystander.origin, true);
  project.provide("crawlBase", site.base);
  project.provide("crawlOrigin", site.origin);
  project.provide("crawlBystander", bystander.origin);
  return async () => {
    await Promise.all([open.close(), guarded.close(), s3.stop(), site.close(), bystander.close()]);
    rmSync(s3Dir, { recursive: true, force: true });
  };
}
