/** Row helpers for the SQL core: value conversion, prefix bounds, paging. Runtime-neutral. */
import { AnystoreError } from "../../../core/errors.js";

/** Keys per listing page. */
export const PAGE = 1000;

const encoder = new TextEncoder();

/** Stored values as bytes: blobs arrive as Buffer, ArrayBuffer, or text when another program wrote a string. */
export function toBytes(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) {
    return value.constructor === Uint8Array ? value : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  }
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (typeof value === "string") return encoder.encode(value);
  if (value === null || value === undefined) return new Uint8Array(0);
  throw new AnystoreError(`unexpected value type ${typeof value} in the value column`);
}

/** The smallest string above every string that starts with `prefix` (prefixes end in `/`, so this is `...0`). */
export function successor(prefix: string): string {
  const last = prefix.charCodeAt(prefix.length - 1);
  return prefix.slice(0, -1) + String.fromCharCode(last + 1);
}

/**
 * Keys page by page: `fetch(after)` returns up to PAGE + 1 rows of keys above `after` (the
 * extra row only says another page follows, so the last page costs no empty query). The next
 * page is asked for as soon as a page arrives, so the query runs while the store uses this one.
 */
export async function* pagedKeys(
  start: string,
  fetch: (after: string) => Promise<unknown[][]>,
): AsyncGenerator<string[]> {
  let next: Promise<unknown[][]> | undefined = fetch(start);
  while (next) {
    const rows: unknown[][] = await next;
    const n = Math.min(rows.length, PAGE);
    const keys = new Array<string>(n);
    for (let i = 0; i < n; i++) keys[i] = String(rows[i]![0]);
    next = rows.length > PAGE ? fetch(keys[n - 1]!) : undefined;
    next?.catch(() => {}); // seen by the next turn's await, or dropped with a listing stopped early
    if (n > 0) yield keys;
  }
}

export function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * The bytes [position, end) of a value whose first chunk is already here, fetched `first.byteLength`
 * at a time by `fetch(from, length)`, one chunk ahead of the reader.
 */
export function chunkedStream(
  first: Uint8Array,
  position: number,
  end: number,
  fetch: (from: number, length: number) => Promise<Uint8Array>,
): ReadableStream<Uint8Array> {
  const size = first.byteLength;
  const next = (): Promise<Uint8Array> | undefined => {
    if (position >= end) return undefined;
    const from = position;
    const length = Math.min(size, end - from);
    position += length;
    const chunk = fetch(from, length);
    chunk.catch(() => {}); // handled when pulled; a cancelled read may never pull it
    return chunk;
  };
  let pending: Uint8Array | undefined = first;
  let ahead = next();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (pending) {
          controller.enqueue(pending);
          pending = undefined;
          return;
        }
        if (!ahead) return controller.close();
        const chunk = await ahead;
        ahead = next();
        controller.enqueue(chunk);
      },
      cancel() {
        ahead = undefined;
      },
    },
    { highWaterMark: 0 },
  );
}
