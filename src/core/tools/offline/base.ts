/**
 * Where `sync` remembers what each key looked like on both sides at the last sync: one small
 * JSON record per key in `a`'s reserved area, `.anystore/sync/<pair>/<key>` (never listed).
 *
 * `<pair>` is a random id that `a` keeps for `b`'s uri (`.anystore/sync/pairs/<hash of b's uri>`)
 * and `b` keeps a mark of (`.anystore/sync/pairs/<pair>`, one per pair, so many clients, all
 * with the same local uri such as `idb://notes`, can sync with one server). When `b` lacks the
 * mark (it was wiped or replaced, or is another store with the same uri, such as a second
 * `memory://`), the pair starts afresh with no bases, so a missing side never reads as
 * "deleted there": keys are copied, never deleted, until the next run. A `b` without a
 * reserved area (a store not made by `createStore`, an older server) keeps no mark.
 */

import { isAnystoreError, UnsupportedError } from "../../errors.js";
import { reservedArea } from "../../keys.js";
import { type AnyStore, readBytes, writeBytes } from "./bytes.js";

/** What both sides held when a key was last in sync. */
export interface BaseRecord {
  /** Bytes (the same on both sides). */
  size: number;
  /** sha256 of the bytes: kept when a side has no strong etag to compare. */
  sum?: string;
  /** `a`'s etag then. */
  a?: string;
  /** `b`'s etag then. */
  b?: string;
}

export interface Bases {
  get(key: string): Promise<BaseRecord | null>;
  put(key: string, record: BaseRecord): Promise<void>;
  delete(key: string): Promise<void>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** FNV-1a, 32 bits, hex: a short key-safe name for a uri (collisions only restart a pair). */
function shortHash(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return hash.toString(16).padStart(8, "0");
}

/** 128 random bits as hex (getRandomValues: randomUUID needs a secure context in browsers). */
function randomId(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (byte) => byte.toString(16).padStart(2, "0")).join("");
}

async function readMark(area: AnyStore | undefined, key: string): Promise<string | null> {
  if (!area) return null;
  const bytes = await readBytes(area, key);
  return bytes === null ? null : decoder.decode(bytes);
}

/** The bases of the pair (a, b), agreeing a pair id with `b` first. */
export async function openBases(a: AnyStore, b: AnyStore): Promise<Bases> {
  const areaA = reservedArea(a, "sync");
  if (!areaA) {
    throw new UnsupportedError(
      `sync keeps its bases in reserved keys of its first store, and ${a.uri} has none: pass a store made by createStore first`,
      { store: a.uri },
    );
  }
  let areaB = reservedArea(b, "sync");
  /** Runs a step on b's marks; a server too old to know the reserved sync area refuses the key: b keeps no mark. */
  const onB = async <R>(step: (area: AnyStore) => Promise<R>): Promise<R | undefined> => {
    if (!areaB) return undefined;
    try {
      return await step(areaB);
    } catch (error) {
      if (!isAnystoreError(error, "INVALID_KEY")) throw error;
      areaB = undefined;
      return undefined;
    }
  };
  const mark = `pairs/${shortHash(b.uri)}`;
  let pair = await readMark(areaA, mark);
  const known = pair !== null && (await onB((area) => readMark(area, `pairs/${pair}`))) != null;
  if (pair === null || (areaB && !known)) {
    const fresh = randomId();
    // The mark holds when the pair began: never a uri, which may carry credentials or a local path.
    await onB((area) => writeBytes(area, `pairs/${fresh}`, encoder.encode(new Date().toISOString())));
    await writeBytes(areaA, mark, encoder.encode(fresh));
    pair = fresh;
  }
  const keyOf = (key: string) => `${pair}/${key}`;
  return {
    async get(key) {
      const bytes = await readBytes(areaA, keyOf(key));
      if (bytes === null) return null;
      try {
        return JSON.parse(decoder.decode(bytes)) as BaseRecord;
      } catch {
        return null; // a torn or foreign record: as if never synced (copies, never deletes)
      }
    },
    put: (key, record) => writeBytes(areaA, keyOf(key), encoder.encode(JSON.stringify(record))),
    delete: (key) => areaA.delete(keyOf(key)),
  };
}
