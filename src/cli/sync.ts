/** `anystore sync A B`: two-way sync (SPEC 12), with progress; `--live` keeps going until Ctrl-C. */

import cliProgress from "cli-progress";
import type { Command } from "commander";
import { InvalidArgumentError } from "../core/errors.js";
import type { SyncOptions, SyncProgress, SyncResult } from "../core/tools/offline/index.js";
import { sync } from "../core/tools/offline/index.js";
import { formatError, note, openStore } from "./context.js";

interface SyncFlags {
  prefix?: string;
  excludePrefix?: string;
  glob?: string;
  conflict: string;
  concurrency: string;
  live?: boolean;
}

interface Reporter {
  progress(p: SyncProgress): void;
  stop(): void;
}

const counts = (p: SyncProgress | SyncResult) => {
  const conflicts = typeof p.conflicts === "number" ? p.conflicts : p.conflicts.length;
  return `to A ${p.copiedToA}, to B ${p.copiedToB}, deleted in A ${p.deletedInA}, in B ${p.deletedInB}, conflicts ${conflicts}, failed ${p.failed}`;
};

/** A bar per round: the total is known once both sides are listed. */
function barReporter(): Reporter {
  const bar = new cliProgress.SingleBar(
    {
      format: "sync {bar} {value}/{total} keys | {counts}",
      stream: process.stderr,
      hideCursor: true,
      clearOnComplete: false,
    },
    cliProgress.Presets.shades_classic,
  );
  let running = false;
  return {
    progress(p) {
      if (!running || p.done === 1) {
        if (running) bar.stop();
        bar.start(p.total, 0, { counts: "" });
        running = true;
      }
      bar.update(p.done, { counts: counts(p) });
      if (p.done === p.total) {
        bar.stop();
        running = false;
      }
    },
    stop() {
      if (running) bar.stop();
      running = false;
    },
  };
}

/** Plain lines for logs and pipes: failures and conflicts as they happen, a status line at most every 2 s. */
function lineReporter(): Reporter {
  let last = Date.now();
  return {
    progress(p) {
      if (p.action === "failed") note(`failed ${p.key}: ${formatError(p.error)}`);
      if (Date.now() - last >= 2000 || (p.done === p.total && p.action !== "unchanged")) {
        last = Date.now();
        note(`${p.done}/${p.total} keys: ${counts(p)}`);
      }
    },
    stop() {},
  };
}

function summary(result: SyncResult): string {
  return `synced: ${counts(result)} in ${(result.took / 1000).toFixed(2)} s`;
}

export function registerSync(program: Command): void {
  program
    .command("sync")
    .description("sync two stores both ways; a key changed on both sides keeps both versions (see --conflict)")
    .argument("<a>", "the first store (it keeps the sync's bases, in reserved keys)")
    .argument("<b>", "the second store")
    .option("--prefix <prefix>", "only keys under this path prefix")
    .option("--exclude-prefix <prefix>", "drop keys starting with this string")
    .option("--glob <pattern>", "only keys matching this glob")
    .option("--conflict <rule>", "who wins a key changed on both sides: keep-both, a or b", "keep-both")
    .option("-c, --concurrency <n>", "keys reconciled at once", "8")
    .option("--live", "keep syncing on changes of either side until interrupted (Ctrl-C)")
    .action(async (uriA: string, uriB: string, flags: SyncFlags, command: Command) => {
      const concurrency = Number(flags.concurrency);
      if (!Number.isInteger(concurrency) || concurrency < 1)
        throw new InvalidArgumentError(`--concurrency must be a whole number >= 1, got ${flags.concurrency}`);
      if (!["keep-both", "a", "b"].includes(flags.conflict))
        throw new InvalidArgumentError(`--conflict must be keep-both, a or b, got ${flags.conflict}`);
      const a = openStore(uriA, command);
      const b = openStore(uriB, command);
      const controller = new AbortController();
      const cancel = () => controller.abort(new Error("interrupted"));
      process.once("SIGINT", cancel);
      process.once("SIGTERM", cancel);
      const reporter = process.stderr.isTTY ? barReporter() : lineReporter();
      const options: SyncOptions = {
        ...(flags.prefix !== undefined && { prefix: flags.prefix }),
        ...(flags.excludePrefix !== undefined && { excludePrefix: flags.excludePrefix }),
        ...(flags.glob !== undefined && { glob: flags.glob }),
        conflict: flags.conflict as "keep-both" | "a" | "b",
        concurrency,
        live: !!flags.live,
        signal: controller.signal,
        onProgress: (p) => reporter.progress(p),
      };
      if (flags.live) note(`syncing ${a.uri} <-> ${b.uri} live; Ctrl-C stops`);
      try {
        const result = await sync(a, b, options);
        reporter.stop();
        for (const c of result.conflicts)
          note(
            `conflict ${c.key}: ${c.resolution === "keep-both" ? `a's version kept at ${c.keptAs}` : `${c.resolution}'s version won`}`,
          );
        note(summary(result));
        if (result.failed > 0) {
          for (const { key, error } of result.errors.slice(0, 5)) note(`  ${key}: ${formatError(error)}`);
          process.exitCode = 1;
        }
      } finally {
        reporter.stop();
        process.off("SIGINT", cancel);
        process.off("SIGTERM", cancel);
        await Promise.all([a.close(), b.close()]);
      }
    });
}
