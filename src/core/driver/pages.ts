import type { KeyPage } from "./contract.js";

/**
 * A driver's listing as pages of keys (contract.ts, `Driver.list`): pages pass as they are, and
 * a single key (the older form) becomes a page of one. For code that walks a driver's keys
 * itself (sweeps, the TTL emulations); the store's listing (store/list.ts) inlines this.
 */
export async function* keyPages(listing: AsyncIterable<KeyPage | string>): AsyncGenerator<KeyPage> {
  for await (const item of listing) yield typeof item === "string" ? [item] : item;
}
