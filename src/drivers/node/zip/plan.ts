/**
 * Deciding what a write to the zip driver's archive does, before any byte moves: whether a key
 * can be written (SPEC 5: a key is never also a folder), which entries it replaces, and when
 * the archive is worth compacting. Pure functions over the central directory.
 */

import { alreadyExists } from "../../../core/already-exists.js";
import type { WriteOptions } from "../../../core/driver/contract.js";
import { ConflictError, InvalidKeyError } from "../../../core/errors.js";
import type { Directory } from "./directory.js";
import type { Entry } from "./format.js";
import { isSafeKey } from "./names.js";
import type { Pending } from "./writer.js";

/** A file entry that has not expired. */
export const alive = (e: Entry | undefined, now = Date.now()): e is Entry =>
  !!e && (e.expiresAt === 0 || e.expiresAt > now);

/**
 * Checks that `key` can be written (SPEC 5: a key is never also a folder), also against the
 * other keys of its batch; collects the entries the write replaces (same key, or expired keys
 * in the way), which force a rewrite. Returns the creation time an overwrite keeps.
 */
export function plan(dir: Directory, key: string, o: WriteOptions, drop: Set<Entry>, batch = newBatch()): Date | null {
  if (!isSafeKey(key)) throw new InvalidKeyError(`key ${JSON.stringify(key)} cannot be a zip entry name`, { key });
  const now = Date.now();
  const folders: string[] = [];
  for (let i = key.indexOf("/"); i > 0; i = key.indexOf("/", i + 1)) {
    const parent = key.slice(0, i);
    folders.push(parent);
    const e = dir.files.get(parent);
    if (alive(e, now) || batch.keys.has(parent))
      throw new ConflictError(`cannot write ${key}: ${parent} is a key`, { key });
    if (e) dropAll(dir, parent, drop);
  }
  if (batch.folders.has(key)) throw new ConflictError(`cannot write ${key}: it is a folder of other keys`, { key });
  if (dir.folders.has(key)) {
    for (const e of dir.entries) {
      if (e.kind === "other" || !(e.key.startsWith(`${key}/`) || (e.kind === "dir" && e.key === key))) continue;
      if (e.kind === "dir" || alive(e, now))
        throw new ConflictError(`cannot write ${key}: it is a folder of other keys`, { key });
      drop.add(e);
    }
  }
  const existing = dir.files.get(key);
  if (o.ifNotExists && alive(existing, now)) throw alreadyExists(key);
  if (existing) dropAll(dir, key, drop);
  batch.keys.add(key);
  for (const folder of folders) batch.folders.add(folder);
  return alive(existing, now) ? existing.createdAt : null;
}

/** The keys and folders a batch writes so far, so its keys are also checked against each other. */
export const newBatch = () => ({ keys: new Set<string>(), folders: new Set<string>() });

/** An overwrite keeps the key's creation time. */
export function keepCreated(item: Pending, createdAt: Date | null): void {
  if (createdAt) item.entry.createdAt = createdAt;
}

/** Every record of a key (an archive may hold duplicates; all go). */
export function dropAll(dir: Directory, key: string, drop: Set<Entry>): void {
  const last = dir.files.get(key);
  if (last) drop.add(last);
  if (dir.duplicates) for (const e of dir.entries) if (e.kind === "file" && e.key === key) drop.add(e);
}

/** Expired entries hold over a quarter of the archive (and 1 MiB): the next write compacts it. */
export function mostlyExpired(dir: Directory): boolean {
  const now = Date.now();
  let dead = 0;
  for (const e of dir.entries) if (e.expiresAt && e.expiresAt <= now) dead += e.csize + 30 + e.nameBytes.length;
  return dead > 1 << 20 && dead > dir.cdStart / 4;
}
