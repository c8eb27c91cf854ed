/**
 * Turns the results of a bench run (bench/results.json) into BENCHMARKS.md: a summary of
 * put/get ratios and the worst ratio per driver, a note for every figure below 0.9x raw, the ratio matrices over the
 * standard workloads, the machine, the versions of every compared package, and each suite's tables.
 * Columns of a row are classified by name: the first is anystore; names starting with
 * unstorage/keyv/idb-keyval are peers; the first other name is the raw client.
 */
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { cpus, loadavg, totalmem } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { W, WORKLOADS } from "./lib.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const LOW = 0.9;
const RSS_BUDGET_MIB = 64;

/** Drivers in table order, recognized in a table title (the earliest match wins) unless meta.driver names one. */
export const DRIVERS = [
  ["memory", "memory", /\bmemory\b/i],
  ["fs", "fs", /\bfs\b/i],
  ["sqlite", "SQLite", /sqlite/i],
  ["postgres", "PostgreSQL", /postgres/i],
  ["mysql", "MySQL / MariaDB", /mysql|mariadb/i],
  ["redis", "Redis", /redis/i],
  ["s3", "S3 (s3rver)", /\bs3\b/i],
  ["zip", "zip", /\bzip\b/i],
  ["http", "HTTP", /\bhttp\b/i],
  ["indexeddb", "IndexedDB", /indexeddb/i],
  ["opfs", "OPFS", /opfs/i],
];
const LABEL = Object.fromEntries(DRIVERS.map(([id, label]) => [id, label]));

export function driverOf(title, meta = {}) {
  if (meta.driver) return String(meta.driver).toLowerCase();
  let best;
  for (const [id, , pattern] of DRIVERS) {
    const at = title.search(pattern);
    if (at >= 0 && (best === undefined || at < best.at)) best = { id, at };
  }
  return best?.id ?? title;
}
export const driverLabel = (id) => LABEL[id] ?? id;

export const isPeer = (name) => /^(unstorage|keyv|@keyv|idb-keyval)\b/i.test(name);
const lowerIsBetter = (unit) => /MiB|ms|\bs$/.test(unit) && !/\/s/.test(unit);

/** anystore relative to another figure: above 1 anystore is faster (or, for MiB, uses less). */
export function ratio(ours, theirs, unit) {
  if (!(ours > 0) || !(theirs > 0)) return undefined;
  return lowerIsBetter(unit) ? theirs / ours : ours / theirs;
}

/** { ours, oursName, raw, rawName, peers: [[name, value]] } of one row. */
export function columns(row) {
  const entries = Object.entries(row.results ?? {});
  const [oursName, ours] = entries[0] ?? [];
  const rest = entries.slice(1).filter(([name]) => !/^anystore\b/i.test(name));
  const raw = rest.find(([name]) => !isPeer(name));
  return { oursName, ours, rawName: raw?.[0], raw: raw?.[1], peers: rest.filter(([name]) => isPeer(name)) };
}

/** Every driver with its standard rows: Map driver -> Map workload -> { row, title, meta }. */
export function byDriver(run) {
  const drivers = new Map();
  for (const suite of run.suites) {
    for (const table of suite.tables) {
      const id = driverOf(table.title, table.meta);
      if (!drivers.has(id)) drivers.set(id, new Map());
      const rows = drivers.get(id);
      for (const row of table.rows) {
        if (!WORKLOADS.includes(row.workload)) continue;
        // the first row of a workload, unless a later one has the raw client and it has not
        const current = rows.get(row.workload);
        if (!current || (current.row && columns(current.row).raw === undefined && columns(row).raw !== undefined)) {
          rows.set(row.workload, { row, title: table.title, meta: table.meta ?? {} });
        }
      }
    }
  }
  const order = DRIVERS.map(([id]) => id);
  const rank = (id) => (order.includes(id) ? order.indexOf(id) : order.length);
  return new Map([...drivers].filter(([, rows]) => rows.size > 0).sort(([a], [b]) => rank(a) - rank(b)));
}

export const fmt = (n) =>
  n === undefined || n === null || Number.isNaN(n)
    ? ""
    : n >= 100
      ? Math.round(n).toLocaleString("en-US")
      : n >= 10
        ? n.toFixed(1)
        : n.toFixed(2);
const x = (r) => (r === undefined ? "" : `${r.toFixed(2)}x`);
const flag = (r) => (r !== undefined && r < LOW ? ` **${x(r)}**` : ` ${x(r)}`).trim();

/** One line per row, for the console. */
export function formatRow(row) {
  const { oursName, ours } = columns(row);
  const others = Object.entries(row.results).slice(1);
  const ratios = others.map(([name, v]) => `${x(ratio(ours, v, row.unit)) || "n/a"} vs ${name}`).join(", ");
  return `${row.workload}: ${oursName} ${fmt(ours)} ${row.unit}${ratios ? ` (${ratios})` : ""}`;
}

/** Machine and versions, gathered once per run. */
export async function machine() {
  const run = promisify(execFile);
  const version = async (cmd, args, pattern) => {
    try {
      const { stdout } = await run(cmd, args, { timeout: 5000 });
      return stdout.match(pattern)?.[1] ?? stdout.trim().split("\n")[0];
    } catch {
      return undefined;
    }
  };
  const os = await readFile("/etc/os-release", "utf8")
    .then((t) => t.match(/PRETTY_NAME="?([^"\n]*)/)?.[1])
    .catch(() => undefined);
  // The peers are bench/'s own dependencies; the rest come from the root.
  const versionIn = async (dir, name) =>
    JSON.parse(await readFile(join(dir, "node_modules", name, "package.json"), "utf8").catch(() => "{}")).version;
  const pkg = async (name) => (await versionIn(join(root, "bench"), name)) ?? (await versionIn(root, name));
  const compared = [
    "unstorage",
    "keyv",
    "@keyv/sqlite",
    "@keyv/redis",
    "idb-keyval",
    "ioredis",
    "pg",
    "mysql2",
    "@libsql/client",
    "aws4fetch",
    "fflate",
    "s3rver",
    "h3",
    "playwright",
  ];
  const packages = { anystore: JSON.parse(await readFile(join(root, "package.json"), "utf8")).version };
  for (const name of compared) packages[name] = await pkg(name);
  const commit = await version("git", ["-C", root, "rev-parse", "--short", "HEAD"], /(\w+)/);
  const servers = {
    Chromium: await version(process.env.CHROMIUM_PATH ?? "/usr/bin/chromium", ["--version"], /Chromium ([\d.]+)/),
    Redis: await version("redis-server", ["--version"], /v=([\d.]+)/),
    PostgreSQL: await version("postgres", ["--version"], /([\d.]+)/),
    MariaDB: await version("mariadb", ["--version"], /([\d.]+-MariaDB)/),
  };
  return {
    machine: {
      cpu: cpus()[0]?.model ?? "?",
      cores: cpus().length,
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      os,
      node: process.version,
      loadAverage: loadavg()
        .map((l) => l.toFixed(2))
        .join(", "),
    },
    packages: { ...packages, "anystore commit": commit },
    servers,
  };
}

const SHORT = {
  [W.putSeq]: "put seq",
  [W.getSeq]: "get seq",
  [W.put32]: "put x32",
  [W.get32]: "get x32",
  [W.putMany]: "putMany",
  [W.getMany]: "getMany",
  [W.list]: "list 1k/100k",
  [W.listAll]: "list all 100k",
  [W.delete]: "delete seq",
  [W.streamIn]: "stream in",
  [W.streamOut]: "stream out",
  [W.rss]: "extra RSS (MiB)",
  [W.mirror]: "mirror 10k",
};

/** Summary cells: "1.02x / 0.95x" (sequential / 32 in flight) for put or get against raw or a peer. */
function pair(rows, op, pick) {
  const cell = (workload) => {
    const entry = rows.get(workload);
    if (!entry) return undefined;
    const c = columns(entry.row);
    const theirs = pick(c);
    return theirs === undefined ? undefined : ratio(c.ours, theirs, entry.row.unit);
  };
  const seq = cell(op === "put" ? W.putSeq : W.getSeq);
  const par = cell(op === "put" ? W.put32 : W.get32);
  if (seq === undefined && par === undefined) return "";
  return `${seq === undefined ? "–" : flag(seq)} / ${par === undefined ? "–" : flag(par)}`;
}

function summary(drivers) {
  const lines = [
    "| driver | raw client | put vs raw | get vs raw | worst vs raw | peers | put vs peers | get vs peers |",
    "|---|---|---:|---:|---|---|---:|---:|",
  ];
  for (const [id, rows] of drivers) {
    const any = [W.putSeq, W.getSeq, W.put32, W.get32].map((w) => rows.get(w)).find(Boolean);
    if (!any) continue;
    const rawName = columns(any.row).rawName ?? "";
    const putGet = [W.putSeq, W.getSeq, W.put32, W.get32].map((w) => rows.get(w)).filter(Boolean);
    const peerNames = [...new Set(putGet.flatMap((e) => columns(e.row).peers.map(([n]) => n)))];
    const perPeer = (op) =>
      peerNames.map((p) => pair(rows, op, (c) => c.peers.find(([n]) => n === p)?.[1])).join("<br>");
    lines.push(
      `| ${driverLabel(id)} | ${rawName} | ${pair(rows, "put", (c) => c.raw)} | ${pair(rows, "get", (c) => c.raw)} | ${worst(rows)} | ${peerNames.join("<br>")} | ${perPeer("put")} | ${perPeer("get")} |`,
    );
  }
  return lines;
}

/** The lowest ratio to raw among a driver's standard rows, and its workload ("0.45x list all 100k"). */
function worst(rows) {
  let low;
  for (const [workload, { row }] of rows) {
    const c = columns(row);
    // extra RSS counts only past the 64 MiB budget (a few MiB either way is sampling noise)
    if (workload === W.rss && !(c.ours > RSS_BUDGET_MIB)) continue;
    const r = ratio(c.ours, c.raw, row.unit);
    if (r !== undefined && (low === undefined || r < low.r)) low = { r, workload };
  }
  return low === undefined ? "" : `${flag(low.r)} ${SHORT[low.workload] ?? low.workload}`;
}

/** Every standard figure below 0.9x raw, with its explanation from bench/notes.mjs or the suite. */
function lowFigures(drivers, notes) {
  const lines = [];
  for (const [id, rows] of drivers) {
    for (const [workload, { row, meta }] of rows) {
      const c = columns(row);
      const r = ratio(c.ours, c.raw, row.unit);
      if (r === undefined || r >= LOW) continue;
      // extra RSS is flagged only past 64 MiB (a few MiB either way is sampling noise)
      if (workload === W.rss && c.ours <= RSS_BUDGET_MIB) continue;
      const why =
        notes[`${id} / ${workload}`] ??
        meta.notes?.[workload] ??
        notes[id] ??
        notes[`* / ${workload}`] ??
        row.note ??
        "<!-- notes -->";
      lines.push(
        `- **${driverLabel(id)}, ${workload}: ${x(r)}** ${c.rawName} (${fmt(c.ours)} vs ${fmt(c.raw)} ${row.unit}). ${why}`,
      );
    }
  }
  return lines;
}

/** Drivers x standard workloads; `cell(entry)` gives the text. */
function matrix(drivers, cell, { skip = [] } = {}) {
  const workloads = WORKLOADS.filter((w) => !skip.includes(w) && [...drivers.values()].some((rows) => rows.has(w)));
  const lines = [
    `| driver | ${workloads.map((w) => SHORT[w]).join(" | ")} |`,
    `|---|${workloads.map(() => "---:").join("|")}|`,
  ];
  for (const [id, rows] of drivers) {
    const cells = workloads.map((w) => (rows.has(w) ? cell(rows.get(w).row, w) : ""));
    if (cells.every((c) => c === "")) continue;
    lines.push(`| ${driverLabel(id)} | ${cells.join(" | ")} |`);
  }
  return lines;
}

function vsRawCell(row, workload) {
  const c = columns(row);
  if (workload === W.rss)
    return c.ours === undefined ? "" : `${fmt(c.ours)}${c.raw === undefined ? "" : ` (raw ${fmt(c.raw)})`}`;
  return flag(ratio(c.ours, c.raw, row.unit));
}

function vsPeerCell(peer) {
  return (row, workload) => {
    const c = columns(row);
    const theirs = c.peers.find(([n]) => n.toLowerCase().startsWith(peer))?.[1];
    if (workload === W.rss) return theirs === undefined ? "" : `${fmt(c.ours)} (${fmt(theirs)})`;
    return x(ratio(c.ours, theirs, row.unit));
  };
}

function detail(suite) {
  const lines = [
    `### ${suite.title}`,
    "",
    `Suite \`bench/suites/${suite.name}.mjs\`, ${Math.round(suite.seconds)} s.`,
    "",
  ];
  if (suite.error) lines.push(`**failed: ${suite.error}**`, "");
  for (const { title, rows, meta = {} } of suite.tables) {
    if (meta.error) lines.push(`#### ${title}`, "", `**failed: ${meta.error}**`, "");
    if (rows.length === 0) continue;
    const names = [...new Set(rows.flatMap((r) => Object.keys(r.results)))];
    const others = names.slice(1);
    lines.push(`#### ${title}`, "");
    // Cells joined as one list, so a table of anystore alone gets no empty ratio column.
    lines.push(`| ${["workload", "unit", ...names, ...others.map((n) => `vs ${n}`)].join(" | ")} |`);
    lines.push(`|---|---|${[...names, ...others].map(() => "---:").join("|")}|`);
    for (const row of rows) {
      const ours = Object.values(row.results)[0];
      const cells = names.map((n) => fmt(row.results[n]));
      const ratios = others.map((n) => x(ratio(ours, row.results[n], row.unit)));
      lines.push(`| ${[row.workload, row.unit, ...cells, ...ratios].join(" | ")} |`);
    }
    lines.push("");
    const noteLines = [
      ...rows.filter((r) => r.note).map((r) => `- ${r.workload}: ${r.note}`),
      ...(typeof meta.notes === "string" ? [meta.notes] : []),
    ];
    if (noteLines.length > 0) lines.push(...noteLines, "");
  }
  return lines;
}

export function markdown(run, notes = {}, { chart, sections = [] } = {}) {
  const drivers = byDriver(run);
  const m = run.machine ?? {};
  const failed = [
    ...run.suites.filter((s) => s.error).map((s) => `- ${s.name}: failed: ${s.error}`),
    ...run.suites.flatMap((s) =>
      s.tables.filter((t) => t.meta?.error).map((t) => `- ${s.name}, ${t.title}: failed: ${t.meta.error}`),
    ),
  ];
  const peers = ["unstorage", "keyv", "idb-keyval"].filter((p) =>
    [...drivers.values()].some((rows) =>
      [...rows.values()].some((e) => columns(e.row).peers.some(([n]) => n.toLowerCase().startsWith(p))),
    ),
  );
  const low = lowFigures(drivers, notes);
  const lines = [
    "# Benchmarks",
    "",
    `Generated by \`npm run bench\` on ${run.date?.slice(0, 16).replace("T", " ")} UTC; the run took ${((run.totalSeconds ?? 0) / 60).toFixed(1)} min` +
      `${run.partial ? ` (suites ${run.partial.join(", ")} re-run later)` : ""}. Every implementation runs in the same run, on the same`,
    "machine, side by side; suites run one after another, each in its own process. Ratios are anystore relative to the",
    "other implementation: above 1.00x anystore is faster (for RSS: uses less memory). Rates are the best of several rounds,",
    "implementations taking turns (the machine is shared; the best round is the least disturbed). **Bold**: below 0.9x.",
    "",
    "## Summary: put/get vs the raw client and the peers, and each driver's worst ratio",
    "",
    "Each put/get cell: 1 KiB values, sequential / 32 in flight. Worst vs raw: the lowest ratio of any workload the driver is measured on (extra RSS only past 64 MiB).",
    "",
    ...summary(drivers),
    "",
    "### Below 0.9x the raw client",
    "",
    ...(low.length > 0 ? low : ["None."]),
    "",
  ];
  if (failed.length > 0) lines.push("### Failed", "", ...failed, "");
  if (chart)
    lines.push(
      "## Chart",
      "",
      `![anystore / raw client and anystore / peers, per driver and workload (log scale)](${chart})`,
      "",
    );
  lines.push(
    "## anystore vs the raw client, every workload",
    "",
    "The extra RSS column is in MiB (raw client's in brackets), not a ratio.",
    "",
  );
  lines.push(...matrix(drivers, vsRawCell), "");
  for (const peer of peers) {
    lines.push(
      `## anystore vs ${peer}`,
      "",
      "The extra RSS column is in MiB (the peer's in brackets).",
      "",
      ...matrix(
        new Map([...drivers].filter(([, rows]) => [...rows.values()].some((e) => vsPeerCell(peer)(e.row, "") !== ""))),
        vsPeerCell(peer),
      ),
      "",
    );
  }
  // Figures measured by scripts of their own (bench/compression-memory.mjs), kept across runs.
  for (const section of sections) lines.push(section.trimEnd(), "");
  lines.push(
    "## Workloads",
    "",
    "- put/get 1 KiB, sequential and 32 in flight: string values of 1,024 bytes, keys `k/0` ... (gets read what the puts wrote).",
    "- putMany/getMany 1,000 x 1 KiB: one batch call of 1,000 keys; rate in keys per second.",
    "- list a prefix among 100,000 keys: the 1,000 keys under `p42/` among `p0/` ... `p99/` (100,000 keys, seeded once per backend): one folder on fs.",
    "- list all 100,000 keys: the whole store (the same 100,000 keys), counted by a `for await` over `keys()`; the raw client lists them its own fastest way.",
    "- delete 1 KiB, sequential: 1,000 existing keys deleted one after another (put back untimed before each round).",
    "- stream 256 MiB in / out: one value generated and consumed in 1 MiB chunks; extra RSS is the peak (sampled every 5 ms) above the RSS before, in and out together; servers run in their own processes. The implementations run one after another in one process, so memory one of them leaves to the allocator can serve the next: differences of a few tens of MiB are not significant (a fresh process per measurement would be exact).",
    "- mirror 10,000 x 1 KiB: a directory of 10,000 files copied into the backend, 16 in flight.",
    "",
    "## Machine",
    "",
    `- ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os ?? "?"}; Node ${m.node}`,
    `- load average when the run started: ${m.loadAverage} (a shared machine: absolute figures vary between runs, ratios less)`,
    `- servers: ${Object.entries(run.servers ?? {})
      .filter(([, v]) => v)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ")}`,
    "",
    "## Versions",
    "",
    "| package | version |",
    "|---|---|",
    ...Object.entries(run.packages ?? {}).map(([name, v]) => `| ${name} | ${v ?? "not installed"} |`),
    "",
    "## All tables",
    "",
  );
  for (const suite of run.suites) lines.push(...detail(suite));
  return `${lines.join("\n")}\n`;
}
