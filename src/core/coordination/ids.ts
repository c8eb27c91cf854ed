/**
 * Time-sortable ids: UUID version 7 (RFC 9562) in its usual text form, as Python anystore's
 * queue names its items (`str(uuid7())`), so both sort the same way. Within one process the
 * ids only ever grow, even within one millisecond or when the clock steps back: bits after the
 * timestamp are a counter that starts at a random value each millisecond (RFC 9562, 6.2,
 * method 1, a 42-bit counter); 32 further random bits per id keep processes apart.
 */

const COUNTER_BITS = 42;
const COUNTER_LIMIT = 2 ** COUNTER_BITS;
const LOW_BITS = 2 ** 30;

let lastMs = -1;
let counter = 0;

function random32(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0]!;
}

/** A random counter start with its top bit clear, so a millisecond has room for 2^41 ids. */
function freshCounter(): number {
  return (random32() >>> 23) * 2 ** 32 + random32();
}

/** Advances the clock/counter pair; never goes back. */
function tick(): void {
  const now = Date.now();
  if (now > lastMs) {
    lastMs = now;
    counter = freshCounter();
    return;
  }
  counter++;
  if (counter >= COUNTER_LIMIT) {
    lastMs++; // borrows a millisecond from the future rather than repeat or go back
    counter = freshCounter();
  }
}

const hex = (bytes: Uint8Array, from: number, to: number) =>
  Array.from(bytes.subarray(from, to), (b) => b.toString(16).padStart(2, "0")).join("");

/** A new UUIDv7, e.g. `0192f1c4-5e6a-7b3c-8d2e-9f0a1b2c3d4e`; later calls in this process sort after earlier ones. */
export function newId(): string {
  tick();
  const b = new Uint8Array(16);
  const high = Math.floor(lastMs / 2 ** 32);
  const low = lastMs % 2 ** 32;
  b[0] = high >>> 8;
  b[1] = high & 0xff;
  new DataView(b.buffer).setUint32(2, low);
  const counterHigh = Math.floor(counter / LOW_BITS); // 12 bits: rand_a
  const counterLow = counter % LOW_BITS; // 30 bits: the top of rand_b
  b[6] = 0x70 | (counterHigh >>> 8);
  b[7] = counterHigh & 0xff;
  b[8] = 0x80 | (counterLow >>> 24);
  b[9] = (counterLow >>> 16) & 0xff;
  b[10] = (counterLow >>> 8) & 0xff;
  b[11] = counterLow & 0xff;
  new DataView(b.buffer).setUint32(12, random32());
  return `${hex(b, 0, 4)}-${hex(b, 4, 6)}-${hex(b, 6, 8)}-${hex(b, 8, 10)}-${hex(b, 10, 16)}`;
}

/** The millisecond timestamp a UUIDv7 carries, or null for anything else. */
export function timeOfId(id: string): number | null {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i.test(id)) return null;
  return Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}
