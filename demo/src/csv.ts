/**
 * What the notebook's CSV cell computes: per column, how many values, how many are numbers, and
 * their sum, mean, min and max; and the rows grouped by the first text column, with each group's
 * count and sums. The file is read as a byte stream and parsed as it arrives (RFC 4180: quoted
 * fields, doubled quotes, line breaks inside quotes), so a large file never sits in memory whole.
 */

export interface ColumnSummary {
  name: string;
  /** Non-empty values. */
  count: number;
  /** Values that parse as numbers; sum, mean, min and max are over these. */
  numbers: number;
  sum: number;
  mean: number | null;
  min: number | null;
  max: number | null;
}

export interface GroupSummary {
  value: string;
  rows: number;
  /** The sum of each numeric column, in the order of `CsvSummary.numericColumns`. */
  sums: number[];
}

export interface CsvSummary {
  rows: number;
  columns: ColumnSummary[];
  /** The columns that are mostly numbers. */
  numericColumns: string[];
  /** The first column that is mostly text, which the groups are of (none if every column is numeric). */
  groupBy: string | null;
  /** The largest groups, at most `MAX_GROUPS`, by rows. */
  groups: GroupSummary[];
  /** How many distinct values `groupBy` has. */
  groupCount: number;
}

const MAX_GROUPS = 12;

/** Feeds text in, calls `onRow` for every complete record. */
function recordParser(onRow: (fields: string[]) => void): { feed(text: string): void; end(): void } {
  let field = "";
  let fields: string[] = [];
  let quoted = false;
  /** After a closing quote: a doubled quote or the field's end comes next. */
  let quoteSeen = false;
  let sawCr = false;
  const endRecord = () => {
    fields.push(field);
    field = "";
    if (fields.length > 1 || fields[0] !== "") onRow(fields);
    fields = [];
  };
  return {
    feed(text) {
      for (let i = 0; i < text.length; i++) {
        const c = text[i]!;
        if (sawCr) {
          sawCr = false;
          if (c === "\n") continue;
        }
        if (quoted) {
          if (c === '"') {
            quoted = false;
            quoteSeen = true;
          } else field += c;
          continue;
        }
        if (c === '"') {
          if (quoteSeen) field += '"'; // "" inside quotes
          quoted = true;
          quoteSeen = false;
          continue;
        }
        quoteSeen = false;
        if (c === ",") {
          fields.push(field);
          field = "";
        } else if (c === "\n" || c === "\r") {
          sawCr = c === "\r";
          endRecord();
        } else field += c;
      }
    },
    end() {
      if (field !== "" || fields.length > 0) endRecord();
    },
  };
}

interface Tally {
  count: number;
  numbers: number;
  sum: number;
  min: number;
  max: number;
}

const toNumber = (text: string): number | null => {
  const trimmed = text.trim();
  if (trimmed === "") return null;
  const n = Number(trimmed);
  return Number.isFinite(n) ? n : null;
};

/** Parses and aggregates a CSV byte stream (its first record names the columns). */
export async function summarizeCsv(bytes: ReadableStream<Uint8Array>): Promise<CsvSummary> {
  let header: string[] | undefined;
  let tallies: Tally[] = [];
  // Every row's first text cell and numbers are needed for the groups, but which column is the
  // first text one is known only at the end: keep per-column group sums for every column.
  let groupsByColumn: Map<string, { rows: number; sums: number[] }>[] = [];
  let rows = 0;

  const parser = recordParser((fields) => {
    if (!header) {
      header = fields.map((name, i) => name.trim() || `column ${i + 1}`);
      tallies = header.map(() => ({ count: 0, numbers: 0, sum: 0, min: Infinity, max: -Infinity }));
      groupsByColumn = header.map(() => new Map());
      return;
    }
    rows++;
    const numbers = header.map((_, i) => toNumber(fields[i] ?? ""));
    for (let i = 0; i < header.length; i++) {
      const text = fields[i] ?? "";
      const tally = tallies[i]!;
      if (text.trim() !== "") tally.count++;
      const n = numbers[i];
      if (n !== null && n !== undefined) {
        tally.numbers++;
        tally.sum += n;
        if (n < tally.min) tally.min = n;
        if (n > tally.max) tally.max = n;
      } else if (text.trim() !== "") {
        const groups = groupsByColumn[i]!;
        let group = groups.get(text);
        if (!group) {
          group = { rows: 0, sums: header.map(() => 0) };
          groups.set(text, group);
        }
        group.rows++;
        for (let j = 0; j < numbers.length; j++) group.sums[j]! += numbers[j] ?? 0;
      }
    }
  });

  const reader = bytes.getReader();
  const decoder = new TextDecoder();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parser.feed(decoder.decode(value, { stream: true }));
  }
  parser.feed(decoder.decode());
  parser.end();
  if (!header) return { rows: 0, columns: [], numericColumns: [], groupBy: null, groups: [], groupCount: 0 };

  const isNumeric = (t: Tally) => t.count > 0 && t.numbers >= t.count * 0.9;
  const numericIndexes = tallies.flatMap((t, i) => (isNumeric(t) ? [i] : []));
  const groupIndex = tallies.findIndex((t) => t.count > 0 && !isNumeric(t));
  const groups = groupIndex === -1 ? new Map() : groupsByColumn[groupIndex]!;
  return {
    rows,
    columns: header.map((name, i) => {
      const t = tallies[i]!;
      const any = t.numbers > 0;
      return {
        name,
        count: t.count,
        numbers: t.numbers,
        sum: t.sum,
        mean: any ? t.sum / t.numbers : null,
        min: any ? t.min : null,
        max: any ? t.max : null,
      };
    }),
    numericColumns: numericIndexes.map((i) => header![i]!),
    groupBy: groupIndex === -1 ? null : header[groupIndex]!,
    groups: [...groups.entries()]
      .sort((a, b) => b[1].rows - a[1].rows || (a[0] < b[0] ? -1 : 1))
      .slice(0, MAX_GROUPS)
      .map(([value, g]) => ({ value, rows: g.rows, sums: numericIndexes.map((i) => g.sums[i]!) })),
    groupCount: groups.size,
  };
}
