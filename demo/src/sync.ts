/**
 * Two-way sync of the local notebook (IndexedDB) with the team's (the server), on the library's
 * `sync()` (SPEC 12): a note changed on one side only moves to the other. A note changed on both
 * is a conflict, resolved here as the notebook always did, without ever dropping an edit: the
 * newer version wins (an edit always beats a deletion), and the other is kept as a new
 * "conflict copy" note on both sides.
 *
 * `sync/{id}` (see notes.ts) remembers which version of a note was last in sync, for the
 * "not synced" badges; the library keeps its own bases in reserved keys.
 */
import { type Store, type SyncConflict, sync as syncStores } from "../../src/index.browser.js";
import { baseKey, NOTES, type Note, newId, noteKey } from "./notes.js";

export interface SyncReport {
  pushed: Note[];
  pulled: Note[];
  /** `kept` won on both sides; `copy` holds the other edit, as a new note. */
  conflicts: { kept: Note; copy: Note }[];
}

/** The version that survives when both sides changed a note. */
function winnerOf(a: Note, b: Note): Note {
  if (!!a.deleted !== !!b.deleted) return a.deleted ? b : a; // an edit beats a deletion
  if (a.updatedAt !== b.updatedAt) return a.updatedAt > b.updatedAt ? a : b;
  return a.author < b.author || (a.author === b.author && a.text <= b.text) ? a : b;
}

function conflictCopy(loser: Note, winner: Note): Note | null {
  if (loser.deleted || loser.text === winner.text) return null;
  const now = Date.now();
  return { ...loser, id: newId(), conflictOf: winner.id, createdAt: loser.createdAt, updatedAt: now };
}

/**
 * Notes created and deleted here that the server never saw: dropped instead of synced. Asks
 * the server first, so an unreachable server changes nothing here.
 */
async function forgetUnsent(local: Store, remote: Store, only: string[] | undefined): Promise<void> {
  const keys = only ?? [];
  if (!only) for await (const key of local.keys({ prefix: NOTES })) keys.push(key);
  for (const key of keys) {
    const note = (await local.get(key, { default: null })) as Note | null;
    if (note?.deleted && !(await remote.exists(key))) await local.deleteMany([key, baseKey(note.id)]);
  }
}

/** Glob syntax a key may hold, escaped (SPEC 5). */
const escapeGlob = (name: string) => name.replace(/[\\*?[\]{},]/g, "\\$&");

/**
 * A glob (relative to NOTES) for just these keys, or undefined for all of them: a live change
 * is a key or two, and comparing only those keeps a sync's cost flat as the notebook grows.
 */
function globFor(keys: string[] | undefined): string | undefined {
  if (!keys) return undefined;
  const names = keys.map((key) => escapeGlob(key.slice(NOTES.length + 1)));
  const glob = names.length === 1 ? names[0]! : `{${names.join(",")}}`;
  return glob.length <= 2000 ? glob : undefined; // past the glob length limit: all keys
}

/** Syncs the notes, or only the keys in `only` (`notes/{id}.json`, as the watches report them). */
export async function sync(local: Store, remote: Store, only?: string[]): Promise<SyncReport> {
  const keys = only?.filter((key) => key.startsWith(`${NOTES}/`));
  if (keys?.length === 0) return { pushed: [], pulled: [], conflicts: [] };
  const glob = globFor(keys);
  await forgetUnsent(local, remote, glob === undefined ? undefined : keys);
  const report: SyncReport = { pushed: [], pulled: [], conflicts: [] };
  const moved: Array<[string, "pushed" | "pulled"]> = [];
  const settled: string[] = [];

  const resolve = async (conflict: SyncConflict): Promise<"a" | "b"> => {
    const [mine, other] = (await Promise.all([local.get(conflict.key), remote.get(conflict.key)])) as [Note, Note];
    const kept = winnerOf(mine, other);
    const copy = conflictCopy(kept === mine ? other : mine, kept);
    if (copy) {
      // On both sides at once, with the same bytes: the next sync finds them equal, nothing to move.
      await remote.put(noteKey(copy.id), copy);
      await local.put(noteKey(copy.id), copy);
      report.conflicts.push({ kept, copy });
      settled.push(noteKey(copy.id));
    }
    return kept === mine ? "a" : "b";
  };

  const result = await syncStores(local, remote, {
    prefix: NOTES,
    ...(glob !== undefined && { glob }),
    conflict: resolve,
    onProgress: ({ key, action }) => {
      if (action === "copiedToB") moved.push([key, "pushed"]);
      else if (action === "copiedToA") moved.push([key, "pulled"]);
      if (action !== "failed") settled.push(key);
    },
  });
  for (const conflict of result.conflicts)
    moved.push([conflict.key, conflict.resolution === "a" ? "pushed" : "pulled"]);

  // What both sides hold now: the reports' notes, and the versions the badges count as synced.
  const notes = await local.getMany(settled);
  for (const [key, direction] of moved) {
    const note = notes.get(key) as Note | undefined;
    if (note) report[direction].push(note);
  }
  await local.putMany([...notes.values()].map((note) => [baseKey((note as Note).id), (note as Note).updatedAt]));
  if (result.failed > 0) throw result.errors[0]!.error;
  return report;
}
