/**
 * Browser project setup (runs in Node): serves memory stores over the anystore HTTP protocol
 * on loopback for the anystore+http tests in Chromium, and hands their URLs to the page
 * through `provide` / `inject`.
 */
import type { TestProject } from "vitest/node";
import { createStore, serve } from "../../src/index.node.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** An open anystore server (memory store). */
    anystoreHttpUrl: string;
    /** One that wants the bearer token `browser-token`. */
    anystoreHttpTokenUrl: string;
  }
}

/** The vitest page is served from loopback on a port picked at start (63315 unless taken). */
const loopback = (origin: string) => /^http:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d+)?$/.test(origin);

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const open = await serve(createStore("memory://"), { cors: loopback });
  const guarded = await serve(createStore("memory://"), { cors: loopback, token: "browser-token", maxBodyBytes: 64 * 2 ** 20 });
  project.provide("anystoreHttpUrl", open.url);
  project.provide("anystoreHttpTokenUrl", guarded.url);
  return async () => {
    await Promise.all([open.close(), guarded.close()]);
  };
}
