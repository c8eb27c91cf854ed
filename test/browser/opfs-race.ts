/** Racer i's value in the OPFS create races (page and workers): bytes no other racer writes. */
export const racerValue = (i: number): Uint8Array<ArrayBuffer> =>
  new TextEncoder().encode(`racer ${i};`.repeat(20 + i));
