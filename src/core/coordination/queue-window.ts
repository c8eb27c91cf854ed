/**
 * Which queue item to try next, without listing the queue for every `take`. Listing order is
 * unspecified, so finding the oldest id means seeing them all: a listing keeps the `size`
 * smallest ids (bounded memory however long the queue), sorted, and `take`s walk that window.
 * When the window runs out and ids were left out, the next listing continues after its last
 * id; when the whole queue has been walked, the next `take` lists from the start again (which
 * finds items given back, redelivered after their visibility, or pushed meanwhile).
 *
 * A queue of n items drained by one consumer costs about n / size listings; each take costs
 * one claim attempt per item it skips (held by another consumer, or acked since the listing).
 */

const WINDOW_SIZE = 1000;

interface Refill {
  promise: Promise<void>;
  fromStart: boolean;
}

/** One take's walk: it may start over from the oldest id once, then it has seen every id. */
export interface Pass {
  next(): Promise<string | null>;
}

export class Window {
  #ids: string[] = [];
  #at = 0;
  /** The last listing left out ids after the window's last one. */
  #more = false;
  #refill: Refill | undefined;

  constructor(
    readonly list: () => AsyncIterable<string>,
    readonly size = WINDOW_SIZE,
  ) {}

  pass(): Pass {
    let restarted = false;
    const next = async (): Promise<string | null> => {
      for (;;) {
        if (this.#refill) {
          const { promise, fromStart } = this.#refill;
          await promise; // another take is listing already
          restarted ||= fromStart;
          continue;
        }
        if (this.#at < this.#ids.length) return this.#ids[this.#at++]!;
        if (this.#more) await this.#start(this.#ids.at(-1));
        else if (restarted) return null;
        else {
          restarted = true;
          await this.#start(undefined);
        }
      }
    };
    return { next };
  }

  /** Puts an id given back (nack) in line again, if this window still holds it. */
  rewind(id: string): void {
    let low = 0;
    let high = this.#at;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.#ids[mid]! < id) low = mid + 1;
      else high = mid;
    }
    if (low < this.#at && this.#ids[low] === id) this.#at = low;
  }

  #start(after: string | undefined): Promise<void> {
    const promise = this.#load(after).finally(() => (this.#refill = undefined));
    this.#refill = { promise, fromStart: after === undefined };
    return promise;
  }

  /** Keeps the `size` smallest ids after `after`, sorting in batches so memory stays at twice the window. */
  async #load(after: string | undefined): Promise<void> {
    const kept: string[] = [];
    let more = false;
    for await (const id of this.list()) {
      if (after !== undefined && id <= after) continue;
      kept.push(id);
      if (kept.length >= this.size * 2) {
        kept.sort();
        kept.length = this.size;
        more = true;
      }
    }
    kept.sort();
    if (kept.length > this.size) {
      kept.length = this.size;
      more = true;
    }
    this.#ids = kept;
    this.#at = 0;
    this.#more = more;
  }
}
