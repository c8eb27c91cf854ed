/** The listening half of channel.ts: loaded by a driver's first watch, so writers never carry it. */

import type { DriverWatchEvent } from "../../core/driver/contract.js";
import type { Notice } from "./channel.js";

/**
 * Calls `emit` for every notice of a key under `from` (full), as the driver's key (`from` less
 * `base`, the driver's own part of the full key), until `signal` aborts.
 */
export function listenForNotices(
  name: string,
  base: string,
  from: string,
  emit: (event: DriverWatchEvent) => void,
  signal: AbortSignal,
): void {
  const channel = new BroadcastChannel(name);
  channel.onmessage = (message: MessageEvent<Notice>) => {
    const { t, k } = message.data ?? {};
    if ((t !== "put" && t !== "delete") || !Array.isArray(k)) return;
    for (const key of k)
      if (typeof key === "string" && key.startsWith(from)) emit({ type: t, key: key.slice(base.length) });
  };
  signal.addEventListener("abort", () => channel.close(), { once: true });
}
