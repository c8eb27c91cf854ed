/**
 * The case matrix of `sync` (SPEC 12), run against pairs of real stores in Node and Chromium:
 * new, changed and deleted on one side, changed on both (keep-both), deleted on one side and
 * changed on the other (the change wins), new on both with equal bytes, an aborted run that a
 * rerun finishes. After each sync both sides hold the same keys and bytes, and a second sync
 * copies nothing.
 */
import { expect, it } from "vitest";
import type { SyncOptions, SyncResult } from "../../src/core/tools/offline/types.js";
import type { Store } from "../../src/core/types.js";

// biome-ignore lint/suspicious/noExplicitAny: stores of any value type
type AnyStore = Store<any>;
type SyncFn = (a: AnyStore, b: AnyStore, options?: SyncOptions) => Promise<SyncResult>;

export interface SyncPair {
  name: string;
  /** Two fresh, empty stores. */
  make: () => [AnyStore, AnyStore] | Promise<[AnyStore, AnyStore]>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A value that spans many chunks, so copies stream. */
export const BIG = new Uint8Array(3 * 1024 * 1024 + 11).map((_, i) => (i * 131) % 251);

async function put(store: AnyStore, key: string, value: string | Uint8Array): Promise<void> {
  const writer = (await store.open(key, "w")).getWriter();
  await writer.write(typeof value === "string" ? encoder.encode(value) : value);
  await writer.close();
}

/** Every key with a digest of its bytes (a 3 MiB value compared element by element would take long). */
export async function snapshot(store: AnyStore, prefix?: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const keys: string[] = [];
  for await (const key of store.keys(prefix === undefined ? {} : { prefix })) keys.push(key);
  for (const key of keys.sort()) {
    const bytes = new Uint8Array(await new Response(await store.open(key, "r")).arrayBuffer());
    out[key] = bytes.byteLength > 64 ? `${bytes.byteLength}:${await sha256(bytes)}` : decoder.decode(bytes);
  }
  return out;
}

async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

const NOTHING = { copiedToA: 0, copiedToB: 0, deletedInA: 0, deletedInB: 0, failed: 0, conflicts: [] };

/** Syncs and checks both sides then match, and that another sync finds nothing to do. */
async function syncAndSettle(sync: SyncFn, a: AnyStore, b: AnyStore, options?: SyncOptions): Promise<SyncResult> {
  const result = await sync(a, b, options);
  const [left, right] = await Promise.all([snapshot(a, options?.prefix), snapshot(b, options?.prefix)]);
  expect(right).toEqual(left);
  expect(await sync(a, b, options)).toMatchObject(NOTHING);
  return result;
}

export function syncMatrix(pairs: SyncPair[], sync: SyncFn): void {
  for (const pair of pairs) {
    it(`${pair.name}: first sync merges both sides; a second copies nothing`, async () => {
      const [a, b] = await pair.make();
      await put(a, "one.txt", "one");
      await put(a, "docs/two.md", "# two");
      await put(a, "big.bin", BIG);
      await put(a, "empty", new Uint8Array(0));
      await put(b, "seven.txt", "seven");
      await put(a, "same.bin", "equal bytes");
      await put(b, "same.bin", "equal bytes");
      await put(a, "clash.md", "a's first");
      await put(b, "clash.md", "b's own first");
      const result = await syncAndSettle(sync, a, b);
      expect(result).toMatchObject({ copiedToB: 5, copiedToA: 2, deletedInA: 0, deletedInB: 0, failed: 0 });
      expect(result.conflicts).toHaveLength(1);
      const [conflict] = result.conflicts;
      expect(conflict).toMatchObject({ key: "clash.md", resolution: "keep-both" });
      expect(conflict!.keptAs).toMatch(/^clash \(conflict \d{4}-\d\d-\d\dT[\d:.]+Z\)\.md$/);
      const state = await snapshot(b);
      expect(state["clash.md"]).toBe("b's own first");
      expect(state[conflict!.keptAs!]).toBe("a's first");
      expect(state["same.bin"]).toBe("equal bytes");
      expect(state["big.bin"]).toMatch(/^3145739:/);
    });

    it(`${pair.name}: changes, deletions and conflicts after a sync`, async () => {
      const [a, b] = await pair.make();
      for (const key of ["k1", "k2/x.txt", "k3", "k4", "k5.txt", "k6", "k7", "eq"]) await put(a, key, `base ${key}`);
      await syncAndSettle(sync, a, b);
      await put(a, "k1", "k1 changed on a");
      await put(b, "k2/x.txt", "k2 changed on b");
      await a.delete("k3");
      await b.delete("k4");
      await put(a, "k5.txt", "k5 changed on a");
      await put(b, "k5.txt", "k5 changed on b, differently");
      await a.delete("k6");
      await put(b, "k6", "k6 changed on b");
      await put(a, "k7", "k7 changed on a");
      await b.delete("k7");
      await put(a, "eq", "the same change on both");
      await put(b, "eq", "the same change on both");
      const result = await syncAndSettle(sync, a, b);
      expect(result).toMatchObject({ copiedToA: 3, copiedToB: 3, deletedInA: 1, deletedInB: 1, failed: 0 });
      expect(result.conflicts.map((c) => c.key)).toEqual(["k5.txt"]);
      const state = await snapshot(a);
      expect(state).toMatchObject({
        k1: "k1 changed on a",
        "k2/x.txt": "k2 changed on b",
        "k5.txt": "k5 changed on b, differently",
        [result.conflicts[0]!.keptAs!]: "k5 changed on a",
        k6: "k6 changed on b",
        k7: "k7 changed on a",
        eq: "the same change on both",
      });
      expect(result.conflicts[0]!.keptAs).toMatch(/^k5 \(conflict .+\)\.txt$/);
      expect(state).not.toHaveProperty("k3");
      expect(state).not.toHaveProperty("k4");
    });

    it(`${pair.name}: conflict "a", "b" and a function; prefix limits the keys`, async () => {
      const [a, b] = await pair.make();
      for (const key of ["p/x", "p/y", "p/z", "q/outside"]) await put(a, key, "base");
      await sync(a, b, { prefix: "p" });
      expect(await b.exists("q/outside")).toBe(false);
      await put(a, "p/x", "a wins x");
      await put(b, "p/x", "b loses x");
      await put(a, "p/y", "a loses y");
      await put(b, "p/y", "b wins y");
      await put(a, "p/z", "a wins z by rule");
      await put(b, "p/z", "b loses z");
      const rule = (c: { key: string }) => (c.key === "p/y" ? "b" : "a") as "a" | "b";
      const result = await syncAndSettle(sync, a, b, { prefix: "p", conflict: rule });
      expect(result.conflicts.map((c) => [c.key, c.resolution]).sort()).toEqual([
        ["p/x", "a"],
        ["p/y", "b"],
        ["p/z", "a"],
      ]);
      expect(await snapshot(b)).toEqual({ "p/x": "a wins x", "p/y": "b wins y", "p/z": "a wins z by rule" });
    });

    it(`${pair.name}: an aborted run loses nothing, and a rerun finishes it`, async () => {
      const [a, b] = await pair.make();
      for (let i = 0; i < 40; i++) await put(i % 2 ? a : b, `n/${String(i).padStart(2, "0")}`, `value ${i}`);
      const controller = new AbortController();
      const stopped = sync(a, b, {
        concurrency: 2,
        signal: controller.signal,
        onProgress: (p) => {
          if (p.done === 10) controller.abort(new Error("stop here"));
        },
      });
      await expect(stopped).rejects.toThrow("stop here");
      const result = await syncAndSettle(sync, a, b);
      expect(result.copiedToA + result.copiedToB).toBeGreaterThan(0);
      expect(Object.keys(await snapshot(a))).toHaveLength(40);
    });
  }
}
