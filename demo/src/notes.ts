/**
 * Notes live in the browser's IndexedDB store (`idb://notebook`) as `notes/{id}.json`, so the
 * notebook works offline. A deletion is a tombstone (`deleted: true`) so it can sync too.
 * `sync/{id}` remembers the `updatedAt` both sides last agreed on (see sync.ts).
 */
import type { Store } from "../../src/index.browser.js";

export interface Note {
  id: string;
  text: string;
  author: string;
  /** ms since the epoch */
  createdAt: number;
  /** ms since the epoch; the last-writer-wins clock */
  updatedAt: number;
  deleted?: boolean;
  /** Set on a copy kept from a conflict: the note both sides edited. */
  conflictOf?: string;
  /** A computed cell: a summary of a CSV on the server (see analysis.ts), shown under the text. */
  cell?: CsvCell;
}

export interface CsvCell {
  kind: "csv-summary";
  /** The file's key on the server (`files/NAME`). */
  file: string;
  sha256: string;
}

export const NOTES = "notes";
export const noteKey = (id: string) => `${NOTES}/${id}.json`;
export const baseKey = (id: string) => `sync/${id}`;

/** Sortable, unique enough across browsers: creation time, then randomness. */
export function newId(): string {
  const random = crypto.getRandomValues(new Uint32Array(2));
  return `${Date.now().toString(36)}-${random[0]!.toString(36)}${random[1]!.toString(36)}`;
}

/** The first line, without markdown heading marks: what a note is called in lists and reports. */
export function titleOf(note: Pick<Note, "text">): string {
  const line = note.text.split("\n").find((l) => l.trim() !== "") ?? "";
  const title = line.replace(/^#+\s*/, "").trim();
  return title.length > 60 ? `${title.slice(0, 57)}...` : title || "(empty note)";
}

/** A clock that never goes backwards for one note, even if this machine's clock does. */
const nextTime = (previous?: Note) => Math.max(Date.now(), (previous?.updatedAt ?? 0) + 1);

export class Notebook {
  constructor(readonly local: Store) {}

  async all(): Promise<Note[]> {
    const notes: Note[] = [];
    for await (const value of this.local.values({ prefix: NOTES })) notes.push(value as Note);
    return notes.sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
  }

  async create(author: string, text: string): Promise<Note> {
    const now = Date.now();
    const note: Note = { id: newId(), text, author, createdAt: now, updatedAt: now };
    await this.local.put(noteKey(note.id), note);
    return note;
  }

  /** Adds a CSV cell, unless the notebook has one for these bytes already. */
  async addCell(author: string, text: string, cell: CsvCell): Promise<void> {
    const notes = await this.all();
    if (notes.some((n) => !n.deleted && n.cell?.sha256 === cell.sha256)) return;
    const now = Date.now();
    const note: Note = { id: newId(), text, author, createdAt: now, updatedAt: now, cell };
    await this.local.put(noteKey(note.id), note);
  }

  /**
   * Saves an edit. If the note changed since the editor opened on `basedOn` (a sync brought
   * someone's newer version), that version stays and the edit becomes a conflict copy.
   */
  async edit(id: string, text: string, author: string, basedOn?: number): Promise<Note> {
    const previous = (await this.local.get(noteKey(id))) as Note;
    if (basedOn !== undefined && previous.updatedAt !== basedOn && previous.text !== text) {
      const now = Date.now();
      const copy: Note = { id: newId(), text, author, createdAt: previous.createdAt, updatedAt: now, conflictOf: id };
      await this.local.put(noteKey(copy.id), copy);
      return copy;
    }
    const note: Note = { ...previous, text, author, deleted: false, updatedAt: nextTime(previous) };
    await this.local.put(noteKey(id), note);
    return note;
  }

  async remove(id: string, author: string): Promise<void> {
    const previous = (await this.local.get(noteKey(id))) as Note;
    // The text stays in the tombstone: sync reports name what was deleted.
    await this.local.put(noteKey(id), { ...previous, author, deleted: true, updatedAt: nextTime(previous) });
  }

  /** Ids of notes changed here since the last sync. */
  async unsynced(): Promise<Set<string>> {
    const notes = await this.all();
    const bases = await this.local.getMany(notes.map((n) => baseKey(n.id)));
    return new Set(notes.filter((n) => bases.get(baseKey(n.id)) !== n.updatedAt).map((n) => n.id));
  }
}
