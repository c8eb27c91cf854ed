/**
 * TTL on S3. The expiry (epoch ms) is object metadata, `x-amz-meta-anystore-expires`: every
 * GET/HEAD sees it, so reads hide (and delete) expired values at no extra cost. ListObjectsV2
 * returns no metadata, so each ttl'd key also gets an empty marker object, written before the
 * value, named by when it falls due:
 *
 *     ROOT/.anystore/ttl/<10-minute slot>/<key>/.anystore-<expires ms>
 *
 * A listing first lists the slots (one delimiter request), skips future ones, and reclaims the
 * due markers under its prefix (HEAD the value: still carrying that expiry? delete it), so it
 * then never shows an expired key. Markers are hints, the metadata decides: a marker left by an
 * overwrite or a delete is dropped when it falls due. `sweep()` is the same for every prefix.
 */
import { RESERVED } from "../../../core/keys.js";

export const EXPIRES_HEADER = "x-amz-meta-anystore-expires";
export const TTL_ROOT = `${RESERVED}/ttl/`;
const SLOT_MS = 10 * 60 * 1000;
const TAIL = `/${RESERVED}-`;

/** The expiry a response carries, or null. */
export function expiresOf(headers: Headers): number | null {
  const value = headers.get(EXPIRES_HEADER);
  if (value === null) return null;
  const at = Number(value);
  return Number.isFinite(at) ? at : null;
}

/** The marker's key (relative to the store root) for a key expiring at `at`. */
export function markerKey(key: string, at: number): string {
  return `${TTL_ROOT}${slotName(at)}/${key}${TAIL}${at}`;
}

/** The slot folder name, zero-padded so slots also sort by time. */
export function slotName(at: number): string {
  return String(Math.floor(at / SLOT_MS) * SLOT_MS).padStart(15, "0");
}

/** The start of a slot from its folder name (`NNN/`), NaN when it is not one. */
export function slotStart(folder: string): number {
  return /^\d+\/$/.test(folder) ? Number(folder.slice(0, -1)) : NaN;
}

/** Key and expiry from a marker name relative to its slot folder; null for anything else. */
export function parseMarker(name: string): { key: string; at: number } | null {
  const cut = name.lastIndexOf(TAIL);
  if (cut <= 0) return null;
  const at = Number(name.slice(cut + TAIL.length));
  return Number.isFinite(at) ? { key: name.slice(0, cut), at } : null;
}
