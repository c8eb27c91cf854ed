/**
 * The driver contract suite: every behaviour of SPEC 2-6, run against every driver in each
 * of its runtimes. A case is skipped only by a capability the driver declares.
 * Web APIs only: it runs in Node and in Chromium.
 */

import type { TestContext } from "vitest";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import type { DriverCapabilities, Store, StoreOptions } from "../../src/index.common.js";
import { isAnystoreError } from "../../src/index.common.js";
import { basics } from "./contract-basics.js";
import { listing } from "./contract-listing.js";
import { creates } from "./contract-races.js";
import { streams } from "./contract-streams.js";
import { watching } from "./contract-watch.js";

export interface ContractTarget {
  name: string;
  /** A fresh, empty, isolated store with these options applied. */
  make: (options?: StoreOptions) => Store | Promise<Store>;
  /** Runs once after the suite. */
  cleanup?: () => Promise<void>;
  /**
   * Another store instance on the same backend and location as `store` (its own connection), for
   * the cases about other writers. Absent where there is none (a private in-memory database).
   */
  reopen?: (store: Store) => Store | Promise<Store>;
}

export interface Suite {
  /** Makes a store for one test; it is closed after the test. */
  store: (options?: StoreOptions) => Promise<Store>;
  /** Skips the running test unless the driver declares the capability. */
  need: (ctx: TestContext, store: Store, capability: keyof DriverCapabilities) => Promise<void>;
  /** Another instance on the same backend (`ContractTarget.reopen`), closed after the test; skips the test where the target has none. */
  reopen: (ctx: TestContext, store: Store) => Promise<Store>;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
export const bytes = (...values: number[]) => new Uint8Array(values);
export const utf8 = (text: string) => new TextEncoder().encode(text);

export async function text(stream: ReadableStream<Uint8Array>): Promise<string> {
  return new TextDecoder().decode(await readAll(stream));
}

export async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) chunks.push(chunk);
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

/** Every key a listing yields, sorted: a store's keys, or a driver's pages of keys. */
export async function collectKeys(iterable: AsyncIterable<string | string[]>): Promise<string[]> {
  const keys: string[] = [];
  for await (const item of iterable) {
    if (typeof item === "string") keys.push(item);
    else keys.push(...item);
  }
  return keys.sort();
}

/** Asserts that `promise` rejects with an anystore error of `code`. */
export async function rejectsWith(promise: Promise<unknown> | (() => unknown), code: string): Promise<unknown> {
  let error: unknown;
  try {
    await (typeof promise === "function" ? promise() : promise);
  } catch (e) {
    error = e;
  }
  expect(error, `expected ${code}`).toBeDefined();
  expect(isAnystoreError(error), `expected an AnystoreError, got ${String(error)}`).toBe(true);
  expect((error as { code: string }).code).toBe(code);
  return error;
}

export function contractSuite(target: ContractTarget): void {
  describe(`contract: ${target.name}`, () => {
    const open: Store[] = [];
    const suite: Suite = {
      async store(options) {
        const store = await target.make(options);
        open.push(store);
        return store;
      },
      async need(ctx, store, capability) {
        const caps = await store.capabilities();
        if (!caps[capability]) ctx.skip(`${target.name} does not declare ${capability}`);
      },
      async reopen(ctx, store) {
        if (!target.reopen) ctx.skip(`${target.name} has no second instance of one backend`);
        const other = await target.reopen!(store);
        open.push(other);
        return other;
      },
    };
    afterEach(async () => {
      await Promise.all(open.splice(0).map((store) => store.close().catch(() => {})));
    });
    afterAll(async () => {
      await target.cleanup?.();
    });
    basics(suite);
    creates(suite);
    listing(suite);
    streams(suite);
    schemas(suite);
    watching(suite);
  });
}

function schemas({ store: make }: Suite): void {
  describe("schemas (zod)", () => {
    const Item = z.object({ name: z.string(), count: z.number().default(1) });

    it("validates on put, stores the value as given, parses on get", async () => {
      const store = await make({ schema: Item });
      await store.put("item", { name: "a" });
      expect(await store.get("item")).toEqual({ name: "a", count: 1 });
      expect(JSON.parse(await text(await store.open("item")))).toEqual({ name: "a" });
    });

    it("rejects an invalid value with ValidationError carrying issues, writing nothing", async () => {
      const store = await make({ schema: Item });
      const error = (await rejectsWith(store.put("bad", { name: 3 } as never), "VALIDATION")) as { issues: unknown[] };
      expect(error.issues.length).toBeGreaterThan(0);
      expect(await store.exists("bad")).toBe(false);
    });

    it("rejects stored data that does not match on get", async () => {
      const store = await make();
      await store.put("x", { other: true });
      await rejectsWith(store.get("x", { schema: Item }), "VALIDATION");
    });

    it("touch bypasses the schema", async () => {
      const store = await make({ schema: Item });
      const date = await store.touch("stamp");
      expect(date).toBeInstanceOf(Date);
      expect(await store.exists("stamp")).toBe(true);
    });
  });
}
