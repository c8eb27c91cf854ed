/**
 * Feeds a few hundred deterministic mutations of valid archives (bit flips, truncations, bogus
 * sizes and offsets, shifted bytes) to the zip driver: every read must give valid data or a
 * typed error, never a crash, a hang or an untyped exception. FUZZ_SEED picks another
 * deterministic series; FUZZ_LOG=1 prints every error (and keeps archives that read wrong data).
 */
import { execFileSync } from "node:child_process";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { zipDriver } from "../../src/drivers/node/zip/zip.js";
import { isAnystoreError } from "../../src/index.node.js";
import { TMP } from "./tmp.js";

const DIR = join(process.env.ZIP_TEST_TMP ?? TMP, `zip-fuzz-${process.pid}`);
const CASES = 300;

/** mulberry32: a small deterministic PRNG. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const enc = new TextEncoder();
const values: Record<string, Uint8Array> = {
  "alpha.txt": enc.encode("the quick brown fox ".repeat(150)),
  "bravo.bin": new Uint8Array(1024).map((_, i) => (i * 7919) % 251),
  "charlie/delta.json": enc.encode(JSON.stringify({ nested: { list: [1, 2, 3] } })),
  "echo.bin": new Uint8Array(100_000).map((_, i) => (i >> 6) & 255),
};

async function baseArchives(): Promise<Uint8Array[]> {
  await mkdir(join(DIR, "src/charlie"), { recursive: true });
  const ours = join(DIR, "ours.zip");
  const driver = zipDriver({ path: ours, level: 6 });
  for (const [key, value] of Object.entries(values))
    await driver.put(key, value, key === "bravo.bin" ? { ttl: 3600 } : {});
  await driver.close!();
  for (const [key, value] of Object.entries(values)) await writeFile(join(DIR, "src", key), value);
  const theirs = join(DIR, "theirs.zip");
  execFileSync("zip", ["-q", "-fz", "-r", theirs, "alpha.txt", "charlie", "echo.bin"], { cwd: join(DIR, "src") });
  execFileSync("zip", ["-q", "-0", theirs, "bravo.bin"], { cwd: join(DIR, "src") });
  return [new Uint8Array(await readFile(ours)), new Uint8Array(await readFile(theirs))];
}

/** One mutation of `base`, chosen by the PRNG. */
function mutate(base: Uint8Array, random: () => number): Uint8Array {
  const int = (n: number) => Math.floor(random() * n);
  const bytes = base.slice();
  // Half the mutations aim at the tail, where the directory and end records live.
  const position = () => (random() < 0.5 ? bytes.length - 1 - int(Math.min(bytes.length, 400)) : int(bytes.length));
  switch (int(6)) {
    case 0: // bit flips
      for (let i = 0, n = 1 + int(4); i < n; i++) bytes[position()]! ^= 1 << int(8);
      return bytes;
    case 1: // truncation
      return bytes.subarray(0, int(bytes.length));
    case 2: {
      // a bogus 32-bit size, offset or count
      const at = Math.max(0, position() - 4);
      const value = [0, 0xffffffff, 0x7fffffff, base.length, base.length + 1, int(2 ** 32), 0xffff][int(7)]!;
      new DataView(bytes.buffer).setUint32(at, value >>> 0, true);
      return bytes;
    }
    case 3: {
      // a bogus 16-bit length
      const at = Math.max(0, position() - 2);
      new DataView(bytes.buffer).setUint16(at, [0, 0xffff, 1, int(65536)][int(4)]!, true);
      return bytes;
    }
    case 4: {
      // a zeroed range
      const at = position();
      bytes.fill(0, at, at + 1 + int(64));
      return bytes;
    }
    default: {
      // bytes inserted: every later offset is off
      const at = position();
      const out = new Uint8Array(bytes.length + 1 + int(16));
      out.set(bytes.subarray(0, at));
      out.set(bytes.subarray(at), out.length - (bytes.length - at));
      return out;
    }
  }
}

/** Runs `op`; a result or a typed error passes, anything else (or more than 5 s) fails. */
async function safely<T>(what: string, op: () => Promise<T>): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>(
    (_, reject) => (timer = setTimeout(() => reject(new Error(`hang: ${what}`)), 5000)),
  );
  try {
    return await Promise.race([op(), timeout]);
  } catch (error) {
    if (process.env.FUZZ_LOG) console.log(what, (error as Error).message.replace(/\/\S+/g, "P").slice(0, 90));
    if (!isAnystoreError(error)) throw new Error(`${what}: untyped ${String(error)}`, { cause: error });
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}

async function drain(stream: ReadableStream<Uint8Array> | null): Promise<Uint8Array | null> {
  if (!stream) return null;
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

// Empty is valid too: a folder record whose name lost its trailing slash is an empty file.
const known = [...Object.values(values), new Uint8Array(0)].map((v) => Buffer.from(v));
const isKnown = (bytes: Uint8Array) => known.some((v) => v.equals(bytes));

describe("zip driver: fuzzed archives", () => {
  afterAll(() => rm(DIR, { recursive: true, force: true }));

  it(`${CASES} mutated archives give valid data or typed errors`, async () => {
    const bases = await baseArchives();
    const random = prng(Number(process.env.FUZZ_SEED ?? 0x5eed));
    const outcomes = { data: 0, errors: 0 };
    for (let i = 0; i < CASES; i++) {
      const path = join(DIR, `case-${i}.zip`);
      const mutated = mutate(bases[i % bases.length]!, random);
      await writeFile(path, mutated);
      const driver = zipDriver({ path, maxEntrySize: 1 << 20 });
      const listed = await safely(`list #${i}`, async () => {
        const keys: string[] = [];
        for await (const page of driver.list!("")) keys.push(...(typeof page === "string" ? [page] : page));
        return keys;
      });
      const keys = [...new Set([...Object.keys(values), ...(listed ?? [])])];
      const batch = await safely(`getMany #${i}`, () => driver.getMany!(keys));
      for (const [j, value] of (batch ?? []).entries()) {
        if (value)
          expect(isKnown(value), `case ${i}: getMany ${keys[j]} returned bytes that were never stored`).toBe(true);
      }
      for (const key of keys) {
        const value = await safely(`get ${key} #${i}`, () => driver.get(key));
        if (value) expect(isKnown(value), `case ${i}: get ${key} returned bytes that were never stored`).toBe(true);
        value ? outcomes.data++ : outcomes.errors++;
        const streamed = await safely(`read ${key} #${i}`, async () => drain(await driver.read!(key)));
        if (streamed && !isKnown(streamed) && process.env.FUZZ_LOG) {
          await writeFile(join(DIR, `..`, `zip-fuzz-bad-${i}.zip`), mutated);
          console.log(
            "BAD",
            i,
            key,
            streamed.length,
            value?.length,
            new TextDecoder().decode(streamed.subarray(0, 80)),
          );
        }
        if (streamed) expect(isKnown(streamed), `case ${i}: read ${key}`).toBe(true);
        await safely(`range ${key} #${i}`, async () => drain(await driver.read!(key, { start: 5, end: 900 })));
        await safely(`info ${key} #${i}`, () => driver.info!(key));
      }
      if (i % 5 === 0) {
        const wrote = await safely(`put #${i}`, () =>
          driver.put("fresh", enc.encode("new value"), {}).then(() => true),
        );
        if (wrote) expect(new TextDecoder().decode((await driver.get("fresh"))!)).toBe("new value");
      }
      await driver.close!();
      await rm(path, { force: true });
    }
    // Both outcomes happen: the mutations are neither all harmless nor all fatal.
    expect(outcomes.data).toBeGreaterThan(0);
    expect(outcomes.errors).toBeGreaterThan(0);
  }, 120_000);
});
