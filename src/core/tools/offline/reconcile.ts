/**
 * One key of a sync: compare both sides with the key's base, then copy, delete or resolve a
 * conflict. Order keeps every version safe: a value is written before anything that could
 * replace it, and the base is written last, once both sides hold the result, so a run cut
 * short anywhere is finished by the next one.
 */

import { InvalidArgumentError } from "../../errors.js";
import type { Info } from "../../types.js";
import type { BaseRecord, Bases } from "./base.js";
import { type AnyStore, copyValue, infoOrNull } from "./bytes.js";
import type { SyncAction, SyncConflict, SyncOptions, SyncResolution } from "./types.js";

/** One side's current version of the key; its checksum is computed at most once. */
interface Seen {
  info: Info;
  sum?: string;
}

/** What the run counts; `reconcile` adds to it. */
export interface Tally {
  copiedToA: number;
  copiedToB: number;
  deletedInA: number;
  deletedInB: number;
  conflicts: SyncConflict[];
}

type Side = "a" | "b";

/** An etag that changes with the bytes: weak ones (`W/`, from size and time) are not trusted. */
const strong = (etag: string | undefined): etag is string => etag !== undefined && !etag.startsWith("W/");
const strongOrNone = (etag: string | undefined) => (strong(etag) ? etag : undefined);

/** `key` with ` (conflict <ISO time>)` before the extension of its last segment. */
export function conflictKey(key: string, at: Date): string {
  const tag = ` (conflict ${at.toISOString()})`;
  const slash = key.lastIndexOf("/");
  const dot = key.lastIndexOf(".");
  return dot > slash + 1 ? `${key.slice(0, dot)}${tag}${key.slice(dot)}` : `${key}${tag}`;
}

function withoutEtag(info: Info): Info {
  const { etag: _, ...rest } = info;
  return rest;
}

export class Reconciler {
  constructor(
    private readonly a: AnyStore,
    private readonly b: AnyStore,
    private readonly bases: Bases,
    private readonly options: Pick<SyncOptions, "conflict" | "signal">,
    readonly tally: Tally,
  ) {}

  private store(side: Side): AnyStore {
    return side === "a" ? this.a : this.b;
  }

  private async sumOf(side: Side, key: string, seen: Seen): Promise<string> {
    seen.sum ??= await this.store(side).checksum(key);
    return seen.sum;
  }

  /** True when the side still holds what the base recorded for it. */
  private async unchanged(side: Side, key: string, seen: Seen, base: BaseRecord): Promise<boolean> {
    if (seen.info.size !== base.size) return false;
    if (strong(seen.info.etag) && seen.info.etag === base[side]) return true;
    if (base.sum === undefined) return false;
    return (await this.sumOf(side, key, seen)) === base.sum;
  }

  private async sameBytes(key: string, a: Seen, b: Seen): Promise<boolean> {
    if (a.info.size !== b.info.size) return false;
    const [sumA, sumB] = await Promise.all([this.sumOf("a", key, a), this.sumOf("b", key, b)]);
    return sumA === sumB;
  }

  /** Records that both sides hold the same bytes: the next run's base for the key. */
  private async record(key: string, a: Seen, b: Seen, source: Side): Promise<void> {
    const record: BaseRecord = { size: (source === "a" ? a : b).info.size };
    if (strong(a.info.etag)) record.a = a.info.etag;
    if (strong(b.info.etag)) record.b = b.info.etag;
    if (record.a === undefined || record.b === undefined) {
      const seen = source === "a" ? a : b;
      record.sum = seen.sum ?? (await this.sumOf(source, key, seen));
    }
    await this.bases.put(key, record);
  }

  /** Copies the key from one side to the other, then records the base. */
  private async copy(from: Side, key: string, seen: Seen): Promise<SyncAction> {
    const to: Side = from === "a" ? "b" : "a";
    const target = this.store(to);
    await copyValue(this.store(from), key, target, key, seen.info.contentType, this.options.signal);
    const written = await infoOrNull(target, key);
    // Another writer got in after the copy: leave its etag out, so the next run compares bytes.
    const landed: Seen = { info: written && written.size === seen.info.size ? written : withoutEtag(seen.info) };
    await this.record(key, from === "a" ? seen : landed, from === "a" ? landed : seen, from);
    const action = to === "a" ? "copiedToA" : "copiedToB";
    this.tally[action]++;
    return action;
  }

  private async remove(side: Side, key: string): Promise<SyncAction> {
    await this.store(side).delete(key);
    await this.bases.delete(key);
    const action = side === "a" ? "deletedInA" : "deletedInB";
    this.tally[action]++;
    return action;
  }

  /** Brings one key to the same state on both sides; resolves to what it did. */
  async reconcile(key: string): Promise<SyncAction> {
    const [infoA, infoB, base] = await Promise.all([
      infoOrNull(this.a, key),
      infoOrNull(this.b, key),
      this.bases.get(key),
    ]);
    const a: Seen | null = infoA && { info: infoA };
    const b: Seen | null = infoB && { info: infoB };
    if (!a && !b) {
      if (base) await this.bases.delete(key);
      return "unchanged";
    }
    if (!a) return base && (await this.unchanged("b", key, b!, base)) ? this.remove("b", key) : this.copy("b", key, b!);
    if (!b) return base && (await this.unchanged("a", key, a, base)) ? this.remove("a", key) : this.copy("a", key, a);
    const sameA = base !== null && (await this.unchanged("a", key, a, base));
    const sameB = base !== null && (await this.unchanged("b", key, b, base));
    if (sameA && sameB) {
      // Rewritten with the same bytes (a new etag): remember the new etags, so the next run need not hash.
      if (strongOrNone(a.info.etag) !== base!.a || strongOrNone(b.info.etag) !== base!.b)
        await this.record(key, a, b, "a");
      return "unchanged";
    }
    if (sameA) return this.copy("b", key, b);
    if (sameB) return this.copy("a", key, a);
    if (await this.sameBytes(key, a, b)) {
      await this.record(key, a, b, "a");
      return "unchanged";
    }
    return this.conflict(key, a, b);
  }

  /** Both sides changed the key differently: resolve as `options.conflict` says. */
  private async conflict(key: string, a: Seen, b: Seen): Promise<SyncAction> {
    const conflict: SyncConflict = { key, a: a.info, b: b.info };
    const rule = this.options.conflict ?? "keep-both";
    const resolution: SyncResolution = typeof rule === "function" ? await rule(conflict) : rule;
    if (resolution !== "a" && resolution !== "b" && resolution !== "keep-both") {
      const got = JSON.stringify(resolution);
      throw new InvalidArgumentError(`conflict must resolve to "a", "b" or "keep-both", got ${got}`, { key });
    }
    conflict.resolution = resolution;
    if (resolution === "a") await this.copy("a", key, a);
    else if (resolution === "b") await this.copy("b", key, b);
    else {
      // a's version first goes to a new key on a (nothing is replaced), then to b; only then
      // does b's version replace it at the key on a.
      const keptAs = conflictKey(key, new Date());
      await copyValue(this.a, key, this.a, keptAs, a.info.contentType, this.options.signal);
      const kept = await infoOrNull(this.a, keptAs);
      await this.copy("a", keptAs, kept ? { info: kept, ...(a.sum !== undefined && { sum: a.sum }) } : a);
      await this.copy("b", key, b);
      conflict.keptAs = keptAs;
    }
    this.tally.conflicts.push(conflict);
    return "conflict";
  }
}
