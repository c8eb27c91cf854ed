/** The notebook column: one cell per note, rendered markdown or an editor. */
import { formatTime, h } from "./dom.js";
import { renderMarkdown } from "./markdown.js";
import type { Note } from "./notes.js";

/** The composer's id in `drafts` (a note not saved yet). */
export const NEW = "";

export interface NotesViewActions {
  /** `basedOn`: the `updatedAt` of the version the editor opened on (none for a new note). */
  save(id: string, text: string, basedOn?: number): Promise<void>;
  remove(id: string): Promise<void>;
  /** Drafts changed (an editor opened, closed or was typed in): re-render. */
  changed(): void;
  /** The output of a computed cell (a CSV summary), shown under its text. */
  cellOutput(note: Note): HTMLElement;
}

export interface NotesViewState {
  notes: Note[];
  unsynced: Set<string>;
  /** Open editors by note id (NEW for the composer), with their text. */
  drafts: Map<string, string>;
  /** The `updatedAt` each open editor started from: a sync may bring a newer version meanwhile. */
  basedOn: Map<string, number>;
}

function editor(id: string, state: NotesViewState, actions: NotesViewActions): HTMLElement {
  const area = h("textarea", {
    testid: "editor",
    rows: 6,
    placeholder: "# A title\nWrite in markdown: **bold**, *italic*, `code`, - lists, [links](https://example.org)",
    value: state.drafts.get(id) ?? "",
    oninput: (e) => state.drafts.set(id, (e.target as HTMLTextAreaElement).value),
    onkeydown: (e) => {
      const key = e as KeyboardEvent;
      if (key.key === "Enter" && (key.ctrlKey || key.metaKey)) void save();
      if (key.key === "Escape") cancel();
    },
  });
  const save = async () => {
    const text = area.value;
    if (text.trim() === "") return cancel();
    await actions.save(id, text, state.basedOn.get(id));
    state.drafts.delete(id);
    state.basedOn.delete(id);
    actions.changed();
  };
  const cancel = () => {
    state.drafts.delete(id);
    state.basedOn.delete(id);
    actions.changed();
  };
  queueMicrotask(() => area.isConnected && document.activeElement?.tagName !== "TEXTAREA" && area.focus());
  return h(
    "div",
    { class: "editor", "data-for": id },
    area,
    h(
      "div",
      { class: "editor-actions" },
      h("span", { class: "muted small" }, "Ctrl+Enter to save, Esc to cancel"),
      h("button", { testid: "cancel", onclick: cancel }, "Cancel"),
      h("button", { class: "primary", testid: "save", onclick: () => void save() }, "Save"),
    ),
  );
}

function startEditing(note: Note, state: NotesViewState, actions: NotesViewActions): void {
  state.drafts.set(note.id, note.text);
  state.basedOn.set(note.id, note.updatedAt);
  actions.changed();
}

/** Open editors already on the page, by note id: re-rendering keeps them (text, caret, undo). */
type OpenEditors = Map<string, HTMLElement>;

function cell(note: Note, state: NotesViewState, actions: NotesViewActions, open: OpenEditors): HTMLElement {
  const editing = state.drafts.has(note.id);
  const unsynced = state.unsynced.has(note.id);
  const body = h("div", { class: "markdown", testid: "note-body" });
  body.innerHTML = renderMarkdown(note.text); // escaped by renderMarkdown
  return h(
    "article",
    { class: `cell${unsynced ? " unsynced" : ""}${editing ? " editing" : ""}`, testid: "note", "data-id": note.id },
    h(
      "header",
      {},
      h("span", { class: "author" }, note.author),
      h(
        "span",
        { class: "muted small", title: new Date(note.updatedAt).toISOString() },
        `edited ${formatTime(note.updatedAt)}`,
      ),
      note.conflictOf &&
        h(
          "span",
          {
            class: "badge conflict",
            title: "Both sides edited this note; the newer edit won, this one was kept as a copy",
          },
          "conflict copy",
        ),
      h(
        "span",
        { class: `badge ${unsynced ? "pending" : "synced"}`, testid: "note-state" },
        unsynced ? "not synced" : "synced",
      ),
      h("span", { class: "spacer" }),
      !editing &&
        h("button", { class: "ghost", testid: "edit", onclick: () => startEditing(note, state, actions) }, "Edit"),
      !editing &&
        h("button", { class: "ghost danger", testid: "delete", onclick: () => void actions.remove(note.id) }, "Delete"),
    ),
    editing ? (open.get(note.id) ?? editor(note.id, state, actions)) : body,
    note.cell && actions.cellOutput(note),
  );
}

/** Puts the focus and caret back where they were, after the editor moved to its new cell. */
function keepFocus(): () => void {
  const active = document.activeElement;
  if (!(active instanceof HTMLTextAreaElement)) return () => {};
  const { selectionStart, selectionEnd, scrollTop } = active;
  return () => {
    if (!active.isConnected || document.activeElement === active) return;
    active.focus();
    active.setSelectionRange(selectionStart, selectionEnd);
    active.scrollTop = scrollTop;
  };
}

/**
 * Renders the notes. Live sync re-renders whenever someone saves, so an editor open here is
 * moved into the new cells as it is, never rebuilt: typing goes on undisturbed.
 */
export function renderNotes(container: HTMLElement, state: NotesViewState, actions: NotesViewActions): void {
  const open: OpenEditors = new Map();
  for (const el of container.querySelectorAll<HTMLElement>(".editor[data-for]")) open.set(el.dataset.for!, el);
  const restoreFocus = keepFocus();
  const cells = state.notes.map((note) => cell(note, state, actions, open));
  if (state.drafts.has(NEW)) {
    cells.push(
      h(
        "article",
        { class: "cell editing composer", testid: "composer" },
        h("header", {}, h("span", { class: "author" }, "New note")),
        open.get(NEW) ?? editor(NEW, state, actions),
      ),
    );
  }
  if (cells.length === 0) {
    cells.push(
      h(
        "div",
        { class: "empty" },
        h("p", {}, "No notes here yet."),
        h(
          "p",
          { class: "muted" },
          "Write one with + New note; the team's notes show up here as soon as the server can be reached.",
        ),
      ),
    );
  }
  container.replaceChildren(...cells);
  restoreFocus();
}
