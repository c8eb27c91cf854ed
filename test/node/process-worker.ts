/**
 * A store client in its own process, for the tests where several processes share one SQLite file
 * or zip archive, and for the kill -9 tests:
 *
 *   node --import tsx test/node/process-worker.ts <mode> <uri> <id> <n> <extra>
 *
 * - `race` (extra argument: a start time in epoch ms): writes n keys of its own (`w<id>/<i>`, by put, streamed put and putMany in turn), then
 *   tries to create `shared/once` with ifNotExists (buffer and stream); prints one JSON line
 *   `{ errors, won }` and exits.
 * - `memory` (id: a table name; extra: a value size in bytes; n is unused): stores a value of that size,
 *   then reads it back with `get` and prints `{ extra }`, the peak RSS the get added, in bytes.
 * - `stream-memory` (same arguments): puts a value of that size as a stream of 1 MiB chunks made on
 *   the fly, and prints `{ extra }`, the peak RSS the streamed put added; then checks the stored size.
 * - `churn` (extra argument: the first round): prints `ready` once loaded and waits for a line on
 *   stdin (so a test can load the next writer while the current one runs); then until killed,
 *   round after round: adds new keys `new/<id>-<round>`, and in some rounds overwrites one of
 *   keys `s<id>/k0..k<n-1>`, by bytes, streams and putMany; each value is self-describing
 *   (`valueFor`); it prints `begin <round>` as a round's writes start and `ack <round> <ms> <key>...`
 *   once they have resolved, in `ms` milliseconds.
 */
import { createStore } from "../../src/index.node.js";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

const BLOCK = 4096;

/** A value that says which key and round it belongs to, with a body only that pair produces (a block of its own, repeated). */
export function valueFor(key: string, round: number, size: number): Uint8Array {
  const head = encoder.encode(`${key}|${round}|${size}|`);
  const out = new Uint8Array(head.length + size);
  out.set(head);
  let x = (round * 2654435761) ^ key.length ^ (key.charCodeAt(key.length - 1) << 16);
  const block = new Uint8Array(BLOCK);
  for (let i = 0; i < BLOCK; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    block[i] = x >>> 24;
  }
  for (let at = 0; at < size; at += BLOCK) out.set(block.subarray(0, Math.min(BLOCK, size - at)), head.length + at);
  return out;
}

/** The round a stored value was written in, or an error message when it is torn or foreign. */
export function roundOf(key: string, bytes: Uint8Array): number | string {
  const text = decoder.decode(bytes.subarray(0, 200));
  const [name, round, size] = text.split("|");
  if (name !== key || round === undefined || size === undefined)
    return `${key}: not one of our values (${JSON.stringify(text.slice(0, 40))})`;
  const expected = valueFor(key, Number(round), Number(size));
  if (expected.length !== bytes.length || !Buffer.from(expected).equals(bytes))
    return `${key}: torn value of round ${round}`;
  return Number(round);
}

function streamOf(bytes: Uint8Array, chunk = 16 * 1024): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(at, at + chunk));
      at += chunk;
    },
  });
}

/** Sizes from tiny to a few hundred KiB for overwrites, up to 2 MB for new keys, so a kill often lands inside a write. */
const sizeFor = (round: number) => [50, 3000, 70_000, 300_000][round % 4]!;
const freshSizeFor = (round: number) => [20_000, 1_500_000, 4_000_000][round % 3]!;

async function race(uri: string, id: number, n: number, startAt: number): Promise<void> {
  const open = () => createStore(uri, { serialization: "raw" } as never);
  const errors: string[] = [];
  const note = (error: unknown) => void errors.push(`${(error as Error).name}: ${(error as Error).message}`);
  await new Promise((resolve) => setTimeout(resolve, startAt - Date.now())); // every worker starts at once
  for (let i = 0; i < n; i += 3) {
    // A store (a connection) per three keys: opening one while others write is where locks collide.
    const store = open();
    const key = (j: number) => `w${id}/${j}`;
    await store.put(key(i), valueFor(key(i), 1, 100)).catch(note);
    if (i + 1 < n) await store.put(key(i + 1), streamOf(valueFor(key(i + 1), 1, 40_000))).catch(note);
    if (i + 2 < n) await store.putMany([[key(i + 2), valueFor(key(i + 2), 1, 200)]]).catch(note);
    await store.close();
  }
  const store = open();
  let won = 0;
  for (const [key, value] of [
    ["shared/once", valueFor("shared/once", id, 100)],
    ["shared/once-stream", streamOf(valueFor("shared/once-stream", id, 40_000))],
  ] as const) {
    await store.put(key, value, { ifNotExists: true }).then(
      () => won++,
      (error) => (error as { code?: string }).code !== "ALREADY_EXISTS" && note(error),
    );
  }
  await store.close();
  process.stdout.write(`${JSON.stringify({ errors, won })}\n`);
}

async function churn(uri: string, id: number, n: number, first: number): Promise<void> {
  // Zip: stored, not deflated, so the time goes to writing the archive rather than to deflate.
  const store = createStore(uri, { serialization: "raw", level: 0 } as never);
  process.stdout.write("ready\n");
  await new Promise((resolve) => process.stdin.once("data", resolve));
  for (let round = first; ; round++) {
    const key = `s${id}/k${round % n}`;
    const fresh = `new/${id}-${round}`;
    const value = valueFor(key, round, sizeFor(round));
    const freshValue = valueFor(fresh, round, freshSizeFor(round));
    const pair = `${fresh}b`;
    // New keys (a zip append) every round, overwrites (a zip rewrite) in three rounds of eight.
    let written = [key, fresh];
    process.stdout.write(`begin ${round}\n`); // a test can aim its kill at the write that follows
    const started = performance.now();
    switch (round % 8) {
      case 0:
      case 4:
        await store.put(key, value);
        await store.put(fresh, freshValue);
        break;
      case 1:
      case 5:
        await store.put(fresh, streamOf(freshValue));
        written = [fresh];
        break;
      case 2:
        await store.putMany([
          [fresh, freshValue],
          [pair, valueFor(pair, round, 3000)],
        ]);
        written = [fresh, pair];
        break;
      case 6:
        await store.putMany([
          [key, value],
          [fresh, freshValue],
        ]);
        break;
      case 7:
        await store.put(key, streamOf(value));
        await store.put(fresh, freshValue);
        break;
      default:
        await store.put(fresh, freshValue);
        written = [fresh];
    }
    process.stdout.write(`ack ${round} ${Math.ceil(performance.now() - started)} ${written.join(" ")}\n`);
  }
}

async function memory(uri: string, table: string, size: number): Promise<void> {
  const store = createStore(uri, { serialization: "raw", table } as never);
  await store.put("big", new Uint8Array(size).fill(7));
  global.gc?.();
  const base = process.memoryUsage.rss();
  const before = process.resourceUsage().maxRSS * 1024;
  const value = (await store.get("big")) as Uint8Array;
  const extra = Math.max(process.resourceUsage().maxRSS * 1024, before) - base;
  if (value.byteLength !== size) throw new Error(`read ${value.byteLength} bytes`);
  await store.close();
  process.stdout.write(`${JSON.stringify({ extra })}\n`);
}

async function streamMemory(uri: string, table: string, size: number): Promise<void> {
  const store = createStore(uri, { serialization: "raw", table } as never);
  await store.put("small", new Uint8Array(1)); // connected, the table made
  const piece = new Uint8Array(1024 * 1024).fill(7);
  let left = size;
  // Each chunk a fresh copy, as a source reading a file or socket would hand out.
  const source = new ReadableStream<Uint8Array>({
    pull(controller) {
      const n = Math.min(piece.byteLength, left);
      left -= n;
      controller.enqueue(piece.slice(0, n));
      if (left === 0) controller.close();
    },
  });
  global.gc?.();
  const base = process.memoryUsage.rss();
  const before = process.resourceUsage().maxRSS * 1024;
  await store.put("big", source);
  const extra = Math.max(process.resourceUsage().maxRSS * 1024, before) - base;
  const info = await store.info("big");
  if (info?.size !== size) throw new Error(`stored ${info?.size} bytes`);
  await store.close();
  process.stdout.write(`${JSON.stringify({ extra })}\n`);
}

if (process.argv[1]?.endsWith("process-worker.ts")) {
  const [mode, uri, id, n, extra] = process.argv.slice(2);
  const run =
    mode === "race"
      ? race(uri!, Number(id), Number(n), Number(extra))
      : mode === "memory"
        ? memory(uri!, id!, Number(extra))
        : mode === "stream-memory"
          ? streamMemory(uri!, id!, Number(extra))
          : churn(uri!, Number(id), Number(n), Number(extra ?? 0));
  run.catch((error) => {
    process.stderr.write(`${(error as Error).stack ?? error}\n`);
    process.exit(1);
  });
}
