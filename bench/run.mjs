#!/usr/bin/env node
/**
 * Runs every suite in bench/suites (or the ones named on the command line) against the built
 * package (`npm run build` first; `npm run bench` does), each in its own child process so that
 * RSS figures, crashes and hangs stay with their suite, and writes BENCHMARKS.md, the chart
 * bench/ratios.svg and the raw figures bench/results.json.
 *
 *   node --expose-gc bench/run.mjs              all suites; writes BENCHMARKS.md
 *   node --expose-gc bench/run.mjs http zip     those suites; writes bench/.last-run.md, or, with
 *                                               BENCH_WRITE=1, replaces their tables in bench/results.json
 *                                               and rewrites BENCHMARKS.md
 *   node bench/run.mjs --render                 rewrites BENCHMARKS.md and the chart from bench/results.json
 *
 * BENCH_SUITE_TIMEOUT (seconds, default 600) stops a suite that runs longer; it is reported as failed.
 */
import { fork } from "node:child_process";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { formatRow } from "./report.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");
const RESULTS = join(here, "results.json");
const LAST_JSON = join(tmpdir(), "anystore-bench-last-run.json");
const args = process.argv.slice(2);

if (args[0] === "--child") await child(args[1]);
else if (args[0] === "--render") await render(JSON.parse(await readFile(RESULTS, "utf8")), true);
else await main(args);

/** Child mode: runs one suite, sending each table to the parent. */
async function child(name) {
  const send = (message) => new Promise((resolve) => process.send(message, resolve));
  const suite = await import(join(here, "suites", `${name}.mjs`));
  const pending = [];
  const report = {
    table(title, rows, meta = {}) {
      console.log(`\n## ${title}`);
      for (const row of rows) console.log(formatRow(row));
      pending.push(send({ type: "table", title, rows, meta }));
    },
  };
  await send({ type: "title", title: suite.title ?? name });
  try {
    await suite.default(report);
  } catch (error) {
    console.error(`suite ${name} failed: ${error?.stack ?? error}`);
    pending.push(send({ type: "error", error: String(error?.message ?? error).split("\n")[0] }));
  }
  await Promise.all(pending);
  process.disconnect();
  // A suite that leaves a handle open (a client, a timer) must not hold the run.
  setTimeout(() => process.exit(0), 2000).unref();
}

/** Runs one suite in a child process; resolves to { title, tables, error?, seconds }. */
function runSuite(name) {
  const timeoutSeconds = Number(process.env.BENCH_SUITE_TIMEOUT ?? 600);
  const result = { name, title: name, tables: [], seconds: 0 };
  const started = performance.now();
  return new Promise((resolve) => {
    const proc = fork(fileURLToPath(import.meta.url), ["--child", name], {
      execArgv: ["--expose-gc", ...process.execArgv.filter((a) => a !== "--expose-gc")],
      detached: true, // its own process group, so a timeout also stops the servers it started
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    const timer = setTimeout(() => {
      result.error = `timed out after ${timeoutSeconds} s`;
      try {
        process.kill(-proc.pid, "SIGKILL");
      } catch {
        proc.kill("SIGKILL");
      }
    }, timeoutSeconds * 1000);
    proc.on("message", (message) => {
      if (message.type === "title") result.title = message.title;
      if (message.type === "table")
        result.tables.push({ title: message.title, rows: message.rows, meta: message.meta });
      if (message.type === "error") result.error = message.error;
    });
    proc.on("exit", (code, signal) => {
      clearTimeout(timer);
      if (!result.error && code !== 0) result.error = `exited with ${signal ?? `code ${code}`}`;
      result.seconds = (performance.now() - started) / 1000;
      console.log(`(${name}: ${result.seconds.toFixed(0)} s${result.error ? `, failed: ${result.error}` : ""})`);
      resolve(result);
    });
  });
}

async function main(only) {
  const { machine } = await import("./report.mjs");
  const names = (await readdir(join(here, "suites")))
    .filter((f) => f.endsWith(".mjs"))
    .map((f) => f.replace(/\.mjs$/, ""))
    .sort();
  const unknown = only.filter((n) => !names.includes(n));
  if (unknown.length > 0) throw new Error(`no suite ${unknown.join(", ")} in bench/suites (${names.join(", ")})`);
  const started = performance.now();
  const context = await machine(); // before the suites: the load average says how busy the machine was
  const suites = [];
  for (const name of names) {
    if (only.length > 0 && !only.includes(name)) continue;
    console.log(`\n# ${name}`);
    suites.push(await runSuite(name));
  }
  const totalSeconds = (performance.now() - started) / 1000;
  console.log(`\nbench took ${(totalSeconds / 60).toFixed(1)} min`);
  const run = { date: new Date().toISOString(), totalSeconds, ...context, suites };
  if (only.length === 0) return render(run, true);
  if (!process.env.BENCH_WRITE) return render(run, false);
  const previous = JSON.parse(await readFile(RESULTS, "utf8").catch(() => '{"suites":[]}'));
  const merged = previous.suites
    .filter((s) => !only.includes(s.name))
    .concat(suites)
    .sort((a, b) => a.name.localeCompare(b.name));
  await render(
    {
      ...previous,
      ...context,
      suites: merged,
      date: previous.date ?? run.date,
      partial: [...new Set([...(previous.partial ?? []), ...only])],
    },
    true,
  );
}

/** Writes BENCHMARKS.md + chart + results.json, or (a partial run) bench/.last-run.md only. */
async function render(run, publish) {
  const { markdown } = await import("./report.mjs");
  const { chart } = await import("./chart.mjs");
  const { default: notes } = await import("./notes.mjs");
  if (!publish) {
    await writeFile(join(here, ".last-run.md"), markdown(run, notes, { chart: null }));
    await writeFile(LAST_JSON, JSON.stringify(run));
    console.log(`wrote bench/.last-run.md and ${LAST_JSON} (BENCH_WRITE=1 to update BENCHMARKS.md)`);
    return;
  }
  await writeFile(RESULTS, `${JSON.stringify(run, null, 1)}\n`);
  await writeFile(join(here, "ratios.svg"), chart(run));
  const sections = [await readFile(join(here, "compression-memory.md"), "utf8").catch(() => "")].filter(Boolean);
  await writeFile(join(root, "BENCHMARKS.md"), markdown(run, notes, { chart: "bench/ratios.svg", sections }));
  console.log("wrote BENCHMARKS.md, bench/ratios.svg, bench/results.json");
}
