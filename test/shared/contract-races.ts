/** Contract cases: creates (`ifNotExists`) racing on one key, as bytes and as streams. */
import { describe, expect, it } from "vitest";
import type { Driver, Store } from "../../src/index.common.js";
import type { Suite } from "./contract.js";
import { collectKeys, utf8 } from "./contract.js";
import { inTwoChunks } from "./streams.js";

const RACERS = 100;
/** Racer i's value: bytes no other racer writes. */
const racerBytes = (i: number) => utf8(`racer ${i};`.repeat(20 + i));

/**
 * Races `racers` streamed creates (`write` with `ifNotExists`) of the key `once` straight on a
 * driver: exactly one wins, the rest get AlreadyExistsError, and the winner's value is stored
 * whole. Resolves to that value, for the caller's own checks after the race.
 */
export async function raceStreamedCreates(driver: Driver, racers = 20): Promise<string> {
  const attempt = async (i: number) => {
    const writer = (await driver.write!("once", { ifNotExists: true })).getWriter();
    await writer.write(utf8(`writer ${i} `));
    await writer.write(utf8("done"));
    await writer.close();
    return i;
  };
  const results = await Promise.allSettled(Array.from({ length: racers }, (_, i) => attempt(i)));
  const winners = results.filter((r): r is PromiseFulfilledResult<number> => r.status === "fulfilled");
  expect(winners.length).toBe(1);
  for (const r of results) {
    if (r.status === "rejected") expect((r.reason as { code: string }).code).toBe("ALREADY_EXISTS");
  }
  const stored = new TextDecoder().decode((await driver.get("once"))!);
  expect(stored).toBe(`writer ${winners[0]!.value} done`);
  return stored;
}

/** Runs RACERS creates of `race` at once: exactly one fulfils, the rest are ALREADY_EXISTS, the winner's bytes are stored. */
async function race(store: Store, create: (i: number) => Promise<void>): Promise<void> {
  const results = await Promise.allSettled(Array.from({ length: RACERS }, (_, i) => create(i)));
  const winners = results.flatMap((r, i) => (r.status === "fulfilled" ? [i] : []));
  const refusals = results.flatMap((r) =>
    r.status === "rejected" ? [(r.reason as { code?: string }).code ?? String(r.reason)] : [],
  );
  expect(
    refusals.filter((code) => code !== "ALREADY_EXISTS"),
    "every loser gets AlreadyExistsError",
  ).toEqual([]);
  expect(winners, "exactly one winner").toHaveLength(1);
  expect(await store.get("race", { serialization: "raw" })).toEqual(racerBytes(winners[0]!));
  expect(await collectKeys(store.keys())).toEqual(["race"]);
}

export function creates({ store: make }: Suite): void {
  describe("ifNotExists races", () => {
    it(`${RACERS} concurrent creates of a fresh key, as bytes: exactly one wins, its value intact`, {
      timeout: 60_000,
    }, async () => {
      const store = await make();
      await race(store, (i) => store.put("race", racerBytes(i), { ifNotExists: true }));
    });

    it(`${RACERS} concurrent creates of a fresh key, as streams: exactly one wins, its value intact`, {
      timeout: 60_000,
    }, async () => {
      const store = await make();
      await race(store, (i) => store.put("race", inTwoChunks(racerBytes(i)), { ifNotExists: true }));
    });
  });
}
