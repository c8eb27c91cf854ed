/**
 * The notebook page. Three stores, one API:
 * - `idb://notebook`: this browser's notes (IndexedDB), so the page works offline;
 * - `opfs://notebook`: this browser's copy of dropped files (Origin Private File System);
 * - `anystore+http://HOST/notebook`: the team's notebook on the demo server (SQLite behind it).
 * While online the page is live (live.ts): it follows both notes stores' `watch` and syncs the
 * keys they report. A dropped CSV becomes a cell summarized through `anycache` on the server
 * (analysis.ts), so the team computes it once.
 */
import { createStore, isAnystoreError } from "../../src/index.browser.js";
import { Analyses, isCsv } from "./analysis.js";
import { $, formatBytes, formatTime, h } from "./dom.js";
import { type FileProgress, FileShelf, type StoredFile } from "./files.js";
import { KeysPanel } from "./keys-panel.js";
import { LiveLink, SyncScheduler } from "./live.js";
import { NOTES, Notebook, titleOf } from "./notes.js";
import { NEW, type NotesViewState, renderNotes } from "./notes-view.js";
import { type SyncReport, sync } from "./sync.js";

const notesStore = createStore("idb://notebook", { serialization: "json" });
const filesStore = createStore("opfs://notebook");
const serverStore = createStore(`anystore+${location.origin}/notebook`, {
  serialization: "json",
  timeout: 5000, // ms without progress: a stopped server fails fast, a long upload still makes progress
  onUploadProgress: (progress: { loaded: number }) => shelf.onUploadProgress(progress),
});
const shelf = new FileShelf(filesStore, serverStore);
const analyses = new Analyses(serverStore);

const notebook = new Notebook(notesStore);
const view: NotesViewState = { notes: [], unsynced: new Set(), drafts: new Map(), basedOn: new Map() };
const keys = new KeysPanel($("#keys"), [
  { label: "Server: team notebook (SQLite)", store: serverStore },
  { label: "This browser: notes (IndexedDB)", store: notesStore },
  { label: "This browser: files (OPFS)", store: filesStore },
]);

type Connection = "unknown" | "online" | "offline";
let connection: Connection = "unknown";
let lastSync: number | undefined;

/** Set by the Sync button: the next run reports even if nothing moved. */
let manualRequested = false;
const scheduler = new SyncScheduler((only) => {
  const manual = manualRequested;
  manualRequested = false;
  return runSync({ manual, only });
});
const link = new LiveLink({
  local: notesStore,
  remote: serverStore,
  prefix: NOTES,
  scheduler,
  onLocalChange: () => scheduleRefresh(),
  onLiveChange: () => showStatus(),
});

function showStatus(): void {
  const pending = view.unsynced.size;
  const status = $("#status");
  const changes = `${pending} unsynced change${pending === 1 ? "" : "s"}`;
  if (connection === "offline") {
    status.dataset.state = "offline";
    status.textContent = pending ? `Offline: ${changes} kept in this browser` : "Offline: working locally";
  } else if (pending) {
    status.dataset.state = "pending";
    status.textContent = changes;
  } else {
    status.dataset.state = connection === "online" ? "ok" : "unknown";
    const live = link.live && connection === "online";
    status.textContent = lastSync
      ? `${live ? "Live: in sync" : "In sync"} (${formatTime(lastSync)})`
      : "Not synced yet";
  }
  status.dataset.live = String(link.live);
}

let refreshTimer: ReturnType<typeof setTimeout> | undefined;
/** Re-renders once after a burst of changes (a sync pulling many notes is many events). */
function scheduleRefresh(): void {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => void refreshNotes(), 30);
}

async function refreshNotes(): Promise<void> {
  const [notes, unsynced] = await Promise.all([notebook.all(), notebook.unsynced()]);
  // A note deleted elsewhere while open here stays on screen until its editor closes.
  view.notes = notes.filter((note) => !note.deleted || view.drafts.has(note.id));
  view.unsynced = unsynced;
  renderNotes($("#notes"), view, {
    save: async (id, text, basedOn) => {
      await (id === NEW ? notebook.create(author(), text) : notebook.edit(id, text, author(), basedOn));
      void keys.refresh();
    },
    remove: async (id) => {
      await notebook.remove(id, author());
      await refreshNotes();
      void keys.refresh();
    },
    changed: () => void refreshNotes(),
    cellOutput: (note) => analyses.view(note.cell!.file, note.cell!.sha256, author()),
  });
  showStatus();
}

function author(): string {
  return $<HTMLInputElement>("#author").value.trim() || "anonymous";
}

async function setUpAuthor(): Promise<void> {
  const input = $<HTMLInputElement>("#author");
  const saved = (await notesStore.get("profile.json", { default: null })) as { name?: string } | null;
  input.value = saved?.name ?? `guest-${Math.random().toString(36).slice(2, 6)}`;
  input.addEventListener("change", () => void notesStore.put("profile.json", { name: author() }));
  if (!saved) await notesStore.put("profile.json", { name: input.value });
}

function describe(report: SyncReport): HTMLElement[] {
  const line = (icon: string, cls: string, text: string) =>
    h("li", { class: cls }, h("span", { class: "icon" }, icon), text);
  const lines = [
    ...report.pushed.map((n) => line("↑", "pushed", `${n.deleted ? "deleted" : "sent"} "${titleOf(n)}"`)),
    ...report.pulled.map((n) =>
      line(
        "↓",
        "pulled",
        `${n.deleted ? "deleted" : "got"} "${titleOf(n)}"${n.conflictOf ? " (a conflict copy)" : ""} by ${n.author}`,
      ),
    ),
    ...report.conflicts.map((c) =>
      line("⚠", "conflict", `both edited "${titleOf(c.kept)}": kept the newer, saved the other as a copy`),
    ),
  ];
  return [h("p", { testid: "sync-summary" }, summarize(report)), h("ul", { class: "moves" }, ...lines)];
}

function summarize({ pushed, pulled, conflicts }: SyncReport): string {
  if (pushed.length + pulled.length === 0) return "Already in sync: nothing moved.";
  const n = conflicts.length;
  const kept = n === 0 ? "" : n === 1 ? ", 1 conflict kept as a copy" : `, ${n} conflicts kept as copies`;
  return `↑ ${pushed.length} sent, ↓ ${pulled.length} received${kept}`;
}

/**
 * One sync. The Sync button's runs always report; the live link's runs (on every change of
 * either side) only when they moved something or failed, so the card keeps the last news.
 */
async function runSync({ manual, only }: { manual: boolean; only: string[] | undefined }): Promise<boolean> {
  const button = $<HTMLButtonElement>("#sync");
  const report = $("#sync-report");
  button.disabled = true;
  button.textContent = "Syncing...";
  try {
    const result = await sync(notesStore, serverStore, only);
    connection = "online";
    lastSync = Date.now();
    const moved = result.pushed.length + result.pulled.length > 0;
    if (manual || moved || report.querySelector("[data-testid=sync-error]")) {
      const how = manual ? "" : " (live)";
      report.replaceChildren(h("p", { class: "muted small" }, `at ${formatTime(lastSync)}${how}`), ...describe(result));
    }
    return true;
  } catch (error) {
    connection = isAnystoreError(error, "CONNECTION") || isAnystoreError(error, "IO") ? "offline" : connection;
    const why = isAnystoreError(error, "CONNECTION") ? "the server is unreachable" : (error as Error).message;
    report.replaceChildren(
      h("p", { class: "error", testid: "sync-error" }, `Sync failed: ${why}.`),
      h(
        "p",
        { class: "muted small" },
        "Your edits are safe in this browser; they sync by themselves once the server is back.",
      ),
    );
    return false;
  } finally {
    // A click that came during a live run waits for its own run: the button stays busy till then.
    button.disabled = manualRequested;
    button.textContent = manualRequested ? "Syncing..." : "Sync";
    await refreshNotes();
    void keys.refresh();
  }
}

function progressRow(label: string, testid: string): { row: HTMLElement; update(loaded: number, total: number): void } {
  const bar = h("progress", { testid, max: 1, value: 0 });
  const text = h("span", { class: "muted small num" }, "");
  let steps = 0;
  return {
    row: h("div", { class: "progress-row" }, h("span", { class: "small" }, label), bar, text),
    update(loaded, total) {
      bar.max = Math.max(total, 1);
      bar.value = loaded;
      bar.dataset.steps = String(++steps);
      text.textContent = `${formatBytes(loaded)} / ${formatBytes(total)}`;
    },
  };
}

function fileResult(stored: StoredFile): HTMLElement {
  const verified = stored.sha256 === stored.serverSha256;
  return h(
    "dl",
    { class: "file-result", testid: "file-result" },
    h("dt", {}, "key"),
    h("dd", { testid: "file-key" }, stored.key),
    h("dt", {}, "size"),
    h(
      "dd",
      { testid: "file-size", "data-bytes": stored.size },
      `${formatBytes(stored.size)} (${stored.size.toLocaleString("en")} bytes)`,
    ),
    h("dt", {}, "sha256"),
    h("dd", { class: "hash", testid: "file-sha256" }, stored.sha256),
    h("dt", {}, "server"),
    h(
      "dd",
      { class: verified ? "ok" : "error", testid: "file-verified" },
      verified ? "✓ the server's sha256 of its copy matches" : `✗ the server has ${stored.serverSha256}`,
    ),
  );
}

async function addFile(file: File): Promise<void> {
  const panel = $("#file-status");
  const local = progressRow("Saving to this browser (OPFS)", "local-progress");
  const upload = progressRow("Uploading to the server", "upload-progress");
  const title = h("p", { class: "file-name" }, h("strong", {}, file.name), ` ${formatBytes(file.size)}`);
  const step = h("p", { class: "muted small", testid: "file-step" });
  panel.replaceChildren(title, local.row, upload.row, step);
  panel.dataset.state = "working";
  const steps = {
    local: "Saving into OPFS...",
    hash: "Computing the sha256 of the local copy...",
    upload: "Uploading...",
    verify: "The server checks its copy...",
  };
  const onProgress = (p: FileProgress) => {
    step.textContent = steps[p.phase];
    if (p.phase === "local") local.update(p.loaded, p.total);
    if (p.phase === "upload") upload.update(p.loaded, p.total);
  };
  try {
    const stored = await shelf.add(file, onProgress);
    step.remove();
    panel.append(fileResult(stored));
    panel.dataset.state = "done";
    if (isCsv(file.name)) await addCsvCell(file.name, stored, panel);
  } catch (error) {
    panel.append(h("p", { class: "error", testid: "file-error" }, `Failed: ${(error as Error).message}`));
    panel.dataset.state = "failed";
  }
  void keys.refresh();
}

/**
 * Summarizes a CSV through the team's shared cache, then adds it to the notebook as a cell, so
 * everyone's page shows the summary (from the cache: computed once for the whole team).
 */
async function addCsvCell(name: string, stored: StoredFile, panel: HTMLElement): Promise<void> {
  const line = h("p", { class: "muted small", testid: "csv-step" }, `Summarizing ${name}...`);
  panel.append(line);
  const { source, summary, tookMs } = await analyses.evaluate(stored.key, stored.sha256, author());
  line.textContent =
    source === "computed"
      ? `Summarized in ${summary.computedMs} ms; added to the notebook.`
      : `Summary from the team's cache in ${tookMs} ms (${summary.computedBy} computed it).`;
  await notebook.addCell(author(), `## ${name}\nA summary of the file, computed once for the whole team.`, {
    kind: "csv-summary",
    file: stored.key,
    sha256: stored.sha256,
  });
}

function setUpFiles(): void {
  const input = $<HTMLInputElement>("#file-input");
  const zone = $("#dropzone");
  input.addEventListener("change", () => {
    const file = input.files?.[0];
    if (file) void addFile(file).finally(() => (input.value = ""));
  });
  document.addEventListener("dragover", (e) => {
    e.preventDefault();
    zone.classList.add("over");
  });
  document.addEventListener("dragleave", (e) => e.relatedTarget === null && zone.classList.remove("over"));
  document.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    const file = e.dataTransfer?.files[0];
    if (file) void addFile(file);
  });
}

async function registerOfflineShell(): Promise<void> {
  if (!("serviceWorker" in navigator)) return;
  try {
    await navigator.serviceWorker.register("/sw.js");
    await navigator.serviceWorker.ready;
    document.body.dataset.offlineReady = "true";
  } catch (error) {
    console.warn("no offline copy of the page:", error);
  }
}

async function main(): Promise<void> {
  await setUpAuthor();
  $("#new-note").addEventListener("click", () => {
    view.drafts.set(NEW, view.drafts.get(NEW) ?? "");
    void refreshNotes();
  });
  $("#sync").addEventListener("click", () => void withManualReport());
  setUpFiles();
  await refreshNotes();
  void keys.refresh();
  document.body.dataset.ready = "true";
  void registerOfflineShell();
  goLive();
}

/** The Sync button: a run that reports even when nothing moved, after any run under way. */
async function withManualReport(): Promise<void> {
  manualRequested = true;
  const button = $<HTMLButtonElement>("#sync");
  button.disabled = true; // at once: the run may wait for a tab lock or a live run first
  button.textContent = "Syncing...";
  await scheduler.now({ all: true });
}

/** Live while the browser is online; the watches end when it goes offline or the page closes. */
function goLive(): void {
  if (navigator.onLine) link.start();
  window.addEventListener("online", () => link.start());
  window.addEventListener("offline", () => {
    link.stop();
    connection = "offline";
    showStatus();
  });
  window.addEventListener("pagehide", () => link.stop());
  window.addEventListener("pageshow", (e) => e.persisted && navigator.onLine && link.start());
}

void main().catch((error) => {
  document.body.prepend(h("p", { class: "error fatal" }, `The notebook failed to start: ${(error as Error).message}`));
});
