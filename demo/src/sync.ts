/**
 * Two-way sync of the local notebook (IndexedDB) with the team's (the server), per note,
 * last writer wins on `updatedAt`, without ever dropping an edit:
 * - changed on one side only since the last sync (its `sync/{id}` base): that side's version moves;
 * - changed on both: the newer version wins, and the other is kept as a new "conflict copy"
 *   note; an edit always beats a deletion.
 */
import type { Store } from "../../src/index.browser.js";
import { baseKey, idOfKey, NOTES, type Note, newId, noteKey } from "./notes.js";

export interface SyncReport {
  pushed: Note[];
  pulled: Note[];
  /** `kept` won on both sides; `copy` holds the other edit, as a new note. */
  conflicts: { kept: Note; copy: Note }[];
}

async function notesOf(store: Store): Promise<Map<string, Note>> {
  const keys: string[] = [];
  for await (const key of store.keys({ prefix: NOTES })) keys.push(key);
  const values = await store.getMany(keys);
  return new Map([...values].map(([key, note]) => [idOfKey(key), note as Note]));
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

export async function sync(local: Store, remote: Store): Promise<SyncReport> {
  // The server first: unreachable means nothing changes here.
  const theirs = await notesOf(remote);
  const ours = await notesOf(local);
  const ids = [...new Set([...theirs.keys(), ...ours.keys()])];
  const bases = await local.getMany(ids.map(baseKey));
  const report: SyncReport = { pushed: [], pulled: [], conflicts: [] };

  // What both sides hold once this sync is written: the next sync's base.
  const agreed = new Map<string, number>();
  const forgotten: string[] = [];
  for (const id of ids) {
    const mine = ours.get(id);
    const other = theirs.get(id);
    const base = bases.get(baseKey(id));
    const mineChanged = mine !== undefined && mine.updatedAt !== base;
    const otherChanged = other !== undefined && other.updatedAt !== base;
    let moved: Note;
    if (mine?.deleted && !other) {
      forgotten.push(id); // created and deleted here, never seen by the server
      continue;
    }
    if (mine && other && mine.updatedAt === other.updatedAt) moved = mine;
    else if (mine && (!other || !otherChanged)) {
      moved = mine;
      report.pushed.push(moved);
    } else if (other && (!mine || !mineChanged)) {
      moved = other;
      report.pulled.push(moved);
    } else {
      moved = winnerOf(mine!, other!);
      const copy = conflictCopy(moved === mine ? other! : mine!, moved);
      (moved === mine ? report.pushed : report.pulled).push(moved);
      if (copy) {
        report.conflicts.push({ kept: moved, copy });
        agreed.set(copy.id, copy.updatedAt);
      }
    }
    agreed.set(id, moved.updatedAt);
  }

  const copies = report.conflicts.map((c) => c.copy);
  await remote.putMany([...report.pushed, ...copies].map((note) => [noteKey(note.id), note]));
  await local.putMany([...report.pulled, ...copies].map((note) => [noteKey(note.id), note]));
  // Bases last: a sync cut short is simply redone next time, and no edit is lost either way.
  await local.putMany([...agreed].map(([id, time]) => [baseKey(id), time]));
  await local.deleteMany(forgotten.flatMap((id) => [noteKey(id), baseKey(id)]));
  return report;
}
