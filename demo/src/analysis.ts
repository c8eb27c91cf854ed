/**
 * The notebook's CSV cells: a dropped CSV is summarized (csv.ts) through `anycache` on the
 * team's server store, keyed by the file's sha256. Whoever runs a summary first pays for it;
 * everyone else, in any browser, reads the stored result at once: a shared cache for the
 * team's analysis work. Each page evaluates a cell once and keeps the outcome while it is open.
 */
import { anycache, type Store } from "../../src/index.browser.js";
import { type CsvSummary, summarizeCsv } from "./csv.js";
import { formatTime, h } from "./dom.js";

/** What the cache holds for one file: the summary and who computed it, when, and how long it took. */
export interface StoredSummary extends CsvSummary {
  computedMs: number;
  computedBy: string;
  computedAt: number;
}

export interface Evaluated {
  summary: StoredSummary;
  /** Computed by this page, or read from the shared cache. */
  source: "computed" | "cache";
  /** Milliseconds this page waited for it. */
  tookMs: number;
}

/** Where the cache lives on the server: keys `cache/csv-summary/{sha256}` (not under notes/, so never synced to browsers). */
export const CACHE_PREFIX = "cache/csv-summary";

export const isCsv = (name: string) => /\.(csv|tsv|txt)$/i.test(name);

export class Analyses {
  readonly #results = new Map<string, Promise<Evaluated>>();
  /** sha256s this page computed (the wrapped function ran), as opposed to read from the cache. */
  readonly #ranHere = new Set<string>();
  readonly #summarize: (file: string, sha256: string, author: string) => Promise<StoredSummary>;

  constructor(readonly remote: Store) {
    this.#summarize = anycache(
      async (file: string, sha256: string, author: string): Promise<StoredSummary> => {
        this.#ranHere.add(sha256);
        const started = performance.now();
        const summary = await summarizeCsv(await this.#open(file));
        return {
          ...summary,
          computedMs: Math.round(performance.now() - started),
          computedBy: author,
          computedAt: Date.now(),
        };
      },
      // One entry per file content, whatever its name or who asks.
      { store: remote.child(CACHE_PREFIX), key: (_file, sha256) => sha256, serialization: "json" },
    );
  }

  /** The server's copy: its sha256 was checked when it was uploaded, and every user can read it. */
  #open(file: string): Promise<ReadableStream<Uint8Array>> {
    return this.remote.open(file, "rb");
  }

  /** The cell's result: once per page, failures tried again on the next render. */
  evaluate(file: string, sha256: string, author: string): Promise<Evaluated> {
    let result = this.#results.get(sha256);
    if (!result) {
      const started = performance.now();
      result = this.#summarize(file, sha256, author).then((summary) => ({
        summary,
        source: this.#ranHere.has(sha256) ? "computed" : "cache",
        tookMs: Math.round(performance.now() - started),
      }));
      this.#results.set(sha256, result);
      result.catch(() => this.#results.delete(sha256));
    }
    return result;
  }

  /** The cell's output, filled in when the result is ready. */
  view(file: string, sha256: string, author: string): HTMLElement {
    const out = h("div", { class: "csv-cell", testid: "csv-cell" }, h("p", { class: "muted small" }, "Computing..."));
    this.evaluate(file, sha256, author).then(
      (evaluated) => out.replaceChildren(...renderEvaluated(evaluated)),
      (error) =>
        out.replaceChildren(
          h("p", { class: "error", testid: "csv-error" }, `Cannot summarize ${file}: ${(error as Error).message}`),
        ),
    );
    return out;
  }
}

const number = (n: number | null) =>
  n === null ? "-" : n.toLocaleString("en", { maximumFractionDigits: Number.isInteger(n) ? 0 : 2 });

function sourceLine({ summary, source, tookMs }: Evaluated): HTMLElement {
  const text =
    source === "computed"
      ? `⚡ computed here in ${number(summary.computedMs)} ms`
      : `♻ from the shared cache in ${number(tookMs)} ms (computed by ${summary.computedBy} in ${number(summary.computedMs)} ms at ${formatTime(summary.computedAt)})`;
  return h("p", { class: `csv-source ${source}`, testid: "csv-source", "data-source": source }, text);
}

function renderEvaluated(evaluated: Evaluated): HTMLElement[] {
  const s = evaluated.summary;
  const row = (cells: (string | number)[], tag: "td" | "th" = "td") =>
    h("tr", {}, ...cells.map((c, i) => h(tag, { class: i === 0 ? "" : "num" }, String(c))));
  const columns = h(
    "table",
    { class: "csv-table", testid: "csv-columns" },
    h("thead", {}, row(["column", "values", "numbers", "sum", "mean", "min", "max"], "th")),
    h(
      "tbody",
      {},
      ...s.columns.map((c) =>
        row([c.name, number(c.count), number(c.numbers), number(c.sum), number(c.mean), number(c.min), number(c.max)]),
      ),
    ),
  );
  const parts = [
    sourceLine(evaluated),
    h("p", { class: "small", testid: "csv-rows" }, `${number(s.rows)} rows, ${s.columns.length} columns`),
    columns,
  ];
  if (s.groupBy) {
    parts.push(
      h("p", { class: "small" }, `By ${s.groupBy} (${number(s.groupCount)} values; the largest groups):`),
      h(
        "table",
        { class: "csv-table", testid: "csv-groups" },
        h("thead", {}, row([s.groupBy, "rows", ...s.numericColumns.map((c) => `sum of ${c}`)], "th")),
        h("tbody", {}, ...s.groups.map((g) => row([g.value, number(g.rows), ...g.sums.map(number)]))),
      ),
    );
  }
  return parts;
}
