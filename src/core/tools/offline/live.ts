/** `sync(a, b, { live: true })`: follows both stores' change feeds (SPEC 11) until the signal aborts. */

import { UnsupportedError } from "../../errors.js";
import type { AnyStore } from "./bytes.js";
import type { SyncOptions, SyncResult } from "./types.js";

export async function syncLive(_a: AnyStore, _b: AnyStore, _options: SyncOptions): Promise<SyncResult> {
  throw new UnsupportedError("live sync needs store.watch, which this build does not have");
}
