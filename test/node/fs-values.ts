import { createHash } from "node:crypto";

/**
 * A value that proves itself whole: `id:length:` then pseudo-random bytes, then the sha256 of
 * everything before it (32 bytes). A torn, truncated or mixed value fails `isWhole`.
 */
export function checkedValue(id: string, length: number): Uint8Array {
  const head = new TextEncoder().encode(`${id}:${length}:`);
  const body = new Uint8Array(length);
  let x = length + 1;
  for (let i = 0; i < length; i++) {
    x = (x * 48271) % 2147483647;
    body[i] = x & 255;
  }
  const value = new Uint8Array(head.byteLength + length + 32);
  value.set(head);
  value.set(body, head.byteLength);
  value.set(
    createHash("sha256")
      .update(value.subarray(0, head.byteLength + length))
      .digest(),
    head.byteLength + length,
  );
  return value;
}

export function isWhole(value: Uint8Array): boolean {
  if (value.byteLength < 32) return false;
  const digest = createHash("sha256")
    .update(value.subarray(0, value.byteLength - 32))
    .digest();
  return Buffer.compare(digest, value.subarray(value.byteLength - 32)) === 0;
}
