/** `anystore mirror`: copy every key of one store to another, with progress. */

import cliProgress from "cli-progress";
import type { Command } from "commander";
import { InvalidArgumentError } from "../core/errors.js";
import type { MirrorOptions, MirrorProgress, MirrorResult } from "../core/tools/mirror.js";
import { mirror, sharedCause } from "../core/tools/mirror.js";
import type { ListOptions, Store } from "../core/types.js";
import { formatBytes, formatError, note, openStore } from "./context.js";

interface MirrorFlags {
  input: string;
  output: string;
  prefix?: string;
  excludePrefix?: string;
  glob?: string;
  overwrite?: boolean;
  concurrency: string;
}

/** What reports progress: a bar on a terminal, plain lines otherwise. */
interface Reporter {
  progress(p: MirrorProgress): void;
  /** `completed`: the mirror finished (a rejected one reports its own error). */
  stop(completed: boolean): void;
}

/**
 * A bar whose total grows as a second listing finds the keys (the first one feeds the copy), shown
 * as `done/found+` until that listing ends. Nothing is drawn before the first key is found, so an
 * empty or slow listing never shows a full bar at 0/0.
 */
function barReporter(source: Store, list: ListOptions): Reporter {
  const bar = new cliProgress.SingleBar(
    {
      format: "mirror {bar} {value}/{total}{more} keys | {size} | {rate} keys/s | {failed} failed",
      stream: process.stderr,
      hideCursor: true,
      clearOnComplete: false,
      etaBuffer: 100,
    },
    cliProgress.Presets.shades_classic,
  );
  const started = Date.now();
  let counting = true;
  let found = 0;
  let shown = false;
  const show = () => {
    if (shown) return;
    shown = true;
    bar.start(found, 0, { size: "0 B", rate: "0", failed: 0, more: counting ? "+" : "" });
  };
  void (async () => {
    for await (const _ of source.keys(list)) {
      if (!counting) return;
      found++;
      show();
      bar.setTotal(found);
    }
    counting = false;
    if (shown) bar.update({ more: "" });
  })().catch(() => {});
  return {
    progress(p) {
      found = Math.max(found, p.done);
      show();
      const seconds = Math.max((Date.now() - started) / 1000, 0.001);
      if (p.done > bar.getTotal()) bar.setTotal(p.done);
      const more = counting ? "+" : "";
      bar.update(p.done, { size: formatBytes(p.bytes), rate: (p.done / seconds).toFixed(0), failed: p.failed, more });
    },
    stop() {
      counting = false;
      if (shown) bar.stop();
      shown = false;
    },
  };
}

/**
 * Plain lines for logs and pipes: failures as they happen, a status line at most every 2 s.
 * Failures that share a store-wide cause (unreachable, read-only, missing package) are folded
 * into one line, written when the run ends; if the run stops the mirror, the error that stops it
 * says it once.
 */
function lineReporter(): Reporter {
  let last = Date.now();
  let held: { cause: string; key: string; error: unknown; count: number } | undefined;
  const flush = () => {
    if (!held) return;
    const which = held.count === 1 ? held.key : `${held.count} keys from ${held.key} on`;
    note(`failed ${which}: ${formatError(held.error)}`);
    held = undefined;
  };
  return {
    progress(p) {
      const cause = p.status === "failed" ? sharedCause(p.error, p.key) : undefined;
      if (cause !== undefined && held?.cause === cause) held.count++;
      else {
        flush();
        if (cause !== undefined) held = { cause, key: p.key, error: p.error, count: 1 };
        else if (p.status === "failed") note(`failed ${p.key}: ${formatError(p.error)}`);
      }
      if (Date.now() - last >= 2000) {
        last = Date.now();
        note(`mirrored ${p.mirrored}, skipped ${p.skipped}, failed ${p.failed}, ${formatBytes(p.bytes)}`);
      }
    },
    stop(completed) {
      if (completed) flush();
      held = undefined;
    },
  };
}

function summary(result: MirrorResult): string {
  const seconds = result.took / 1000;
  const handled = result.mirrored + result.skipped + result.failed;
  const rate = seconds > 0 ? `, ${(handled / seconds).toFixed(0)} keys/s` : "";
  return `mirrored ${result.mirrored}, skipped ${result.skipped}, failed ${result.failed}, ${formatBytes(result.bytes)} in ${seconds.toFixed(2)} s${rate}`;
}

export function registerMirror(program: Command): void {
  program
    .command("mirror")
    .description("copy every key from one store to another as raw bytes (existing keys are skipped)")
    .requiredOption("-i, --input <uri>", "the source store")
    .requiredOption("-o, --output <uri>", "the target store")
    .option("--prefix <prefix>", "only keys under this path prefix")
    .option("--exclude-prefix <prefix>", "drop keys starting with this string")
    .option("--glob <pattern>", "only keys matching this glob")
    .option("--overwrite", "copy keys that already exist in the target")
    .option("-c, --concurrency <n>", "keys copied at once", "8")
    .action(async (flags: MirrorFlags, command: Command) => {
      const concurrency = Number(flags.concurrency);
      if (!Number.isInteger(concurrency) || concurrency < 1)
        throw new InvalidArgumentError(`--concurrency must be a whole number >= 1, got ${flags.concurrency}`);
      const list: ListOptions = {
        ...(flags.prefix !== undefined && { prefix: flags.prefix }),
        ...(flags.excludePrefix !== undefined && { excludePrefix: flags.excludePrefix }),
        ...(flags.glob !== undefined && { glob: flags.glob }),
      };
      const source = openStore(flags.input, command);
      const target = openStore(flags.output, command);
      const controller = new AbortController();
      const cancel = () => controller.abort(new Error("interrupted"));
      process.once("SIGINT", cancel);
      const reporter = process.stderr.isTTY ? barReporter(source, list) : lineReporter();
      const options: MirrorOptions = {
        ...list,
        overwrite: !!flags.overwrite,
        concurrency,
        signal: controller.signal,
        onProgress: (p) => reporter.progress(p),
      };
      try {
        const result = await mirror(source, target, options);
        reporter.stop(true);
        note(summary(result));
        if (result.failed > 0) {
          for (const { key, error } of result.errors.slice(0, 5)) note(`  ${key}: ${formatError(error)}`);
          process.exitCode = 1;
        }
      } finally {
        reporter.stop(false);
        process.off("SIGINT", cancel);
        await Promise.all([source.close(), target.close()]);
      }
    });
}
