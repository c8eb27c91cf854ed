/**
 * A work queue over any store. Layout, shared with Python anystore's `Queue` (a store whose
 * keys are UUIDv7 ids): item `id` is the value at `<prefix>/<id>`. A consumer holds an item by
 * creating its claim `<prefix>.claims/<id>` (a lock, see lock.ts) with `ifNotExists` and
 * ttl = `visibility`, so exactly one consumer holds it at a time, and a consumer that dies
 * without `ack` lets it come back once the claim expires. The claims sit beside the items'
 * folder, not in it, so a Python `Queue` over `<prefix>` never sees them (Python consumers
 * take no claims, though: mixed with them, an item may go to both).
 *
 * `ack` deletes the item and leaves its claim to expire; `take` reads the item after claiming
 * it, so a consumer that claims an item acked by another (once the claim has expired) finds
 * it gone and moves on. Claims are never listed as items and expire after `visibility`.
 */
import { isAnystoreError } from "../errors.js";
import type { SchemaLike, Store } from "../types.js";
import { newId } from "./ids.js";
import { lock } from "./lock.js";
import { keyPart, positive } from "./options.js";
import { Window } from "./queue-window.js";
import type { ConsumeOptions, HeldLock, Queue, QueueItem, QueueOptions } from "./types.js";
import { Backoff, waitForChange } from "./waiting.js";

const MISSING = Symbol("missing");

class Item<T> implements QueueItem<T> {
  #settled = false;

  constructor(
    readonly id: string,
    readonly value: T,
    readonly queue: StoreQueue<T>,
    readonly claim: HeldLock,
  ) {}

  async ack(): Promise<void> {
    if (this.#settled) return;
    await this.queue.store.delete(this.queue.itemKey(this.id));
    this.#settled = true;
    // The claim stays until it expires: another consumer that still has this id in its window
    // then fails to claim it (one round trip) instead of claiming, finding nothing and releasing.
  }

  async nack(): Promise<void> {
    if (this.#settled) return;
    await this.claim.release();
    this.#settled = true;
    this.queue.window.rewind(this.id);
  }

  extend(visibility?: number): Promise<boolean> {
    return this.#settled ? Promise.resolve(false) : this.claim.renew(visibility);
  }
}

export class StoreQueue<T> implements Queue<T> {
  readonly prefix: string;
  readonly schema: SchemaLike<T> | undefined;
  readonly visibility: number;
  readonly window: Window;

  constructor(
    readonly store: Store<unknown>,
    options: QueueOptions<T> = {},
  ) {
    this.prefix = keyPart("prefix", options.prefix, "queue");
    this.schema = options.schema;
    this.visibility = positive("visibility", options.visibility, 30);
    this.window = new Window(() => this.ids());
  }

  itemKey(id: string): string {
    return `${this.prefix}/${id}`;
  }

  claimKey(id: string): string {
    return `${this.prefix}.claims/${id}`;
  }

  /** The ids of the items in the queue, in listing order (unspecified). */
  async *ids(): AsyncGenerator<string> {
    const from = this.prefix.length + 1;
    for await (const key of this.store.keys({ prefix: this.prefix })) {
      const id = key.slice(from);
      if (!id.includes("/")) yield id;
    }
  }

  async push(value: T): Promise<string> {
    const id = newId();
    // ttl 0: an item never expires, whatever the store's defaultTtl.
    await this.store.put(this.itemKey(id), value, { ttl: 0, ...(this.schema && { schema: this.schema }) });
    return id;
  }

  async take(): Promise<QueueItem<T> | null> {
    const pass = this.window.pass();
    for (;;) {
      const id = await pass.next();
      if (id === null) return null;
      const item = await this.#claim(id);
      if (item) return item;
    }
  }

  /** The item, now held by this consumer; null when another holds it or it is gone. */
  async #claim(id: string): Promise<Item<T> | null> {
    let claim: HeldLock;
    try {
      claim = await lock(this.store, this.claimKey(id), { ttl: this.visibility, wait: false });
    } catch (error) {
      if (isAnystoreError(error, "ALREADY_EXISTS")) return null;
      throw error;
    }
    // A value that does not decode (or fit the schema) throws with its key; its claim stays,
    // so the other consumers skip it for `visibility` seconds rather than fail on it in turn.
    const value = await this.store.get(this.itemKey(id), {
      default: MISSING,
      ...(this.schema && { schema: this.schema }),
    });
    if (value === MISSING) {
      await claim.release(); // acked by its consumer since we listed it
      return null;
    }
    return new Item(id, value as T, this, claim);
  }

  async *consume(opts: ConsumeOptions = {}): AsyncGenerator<QueueItem<T>> {
    const backoff = new Backoff(positive("pollInterval", opts.pollInterval, 100));
    let current: QueueItem<T> | undefined;
    for (;;) {
      if (current) await current.ack(); // the loop asked for the next one: this one is done
      current = undefined;
      if (opts.signal?.aborted) return;
      current = (await this.take()) ?? undefined;
      if (current) {
        backoff.reset();
        yield current;
        continue;
      }
      try {
        await waitForChange(this.store, this.prefix, backoff.next(), opts.signal);
      } catch (error) {
        if (opts.signal?.aborted) return;
        throw error;
      }
    }
  }

  async size(): Promise<number> {
    let n = 0;
    for await (const _ of this.ids()) n++;
    return n;
  }
}

/** A queue over `store` (see the file comment for the layout). */
export function queue<T = unknown>(store: Store<unknown>, options?: QueueOptions<T>): Queue<T> {
  return new StoreQueue<T>(store, options);
}
