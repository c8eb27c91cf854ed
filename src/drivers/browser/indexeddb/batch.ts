/**
 * Transactions of the indexeddb driver. Operations that place their requests at once (get, put,
 * delete, getMany, putMany, a listing page) join the transaction that is open for their mode, so
 * calls issued together (`Promise.all` of puts, 32 gets in flight) share one transaction: one
 * commit instead of one each. A write batch is sealed with an explicit `commit()` at the end of
 * the microtask that opened it, so even a lone put commits without waiting for the browser's
 * auto-commit round trip (the browser suite in bench/ shows what it is worth).
 *
 * Order is kept: a batch is joined only while it is the newest transaction, so a call issued
 * after another never lands in an older transaction (IndexedDB runs overlapping transactions in
 * creation order). Operations that await inside their transaction (ifNotExists, sweeps) take
 * their own through `begin`, which seals the open batch first.
 *
 * Reads also chain: a read issued while the newest transaction is a readonly one that is still
 * active (its success events are being dispatched, and an awaiting caller resumes within them)
 * places its requests on that transaction instead of opening another. Sequential gets then cost
 * one request each, not a transaction each. A chain
 * ends at the first write, when the transaction goes inactive, or after CHAIN_LIMIT reads, so
 * it never holds off writers in other tabs for long.
 */

import { RECORDS } from "./record.js";

export interface Batch {
  store: IDBObjectStore;
  /** Resolves when a readwrite batch commits; rejects (for every joiner) when it aborts. */
  done: Promise<void>;
  /**
   * A read request's result, handed out when the batch's last request has succeeded: all the
   * batch's callers resume together, so their next calls share a batch again (32 gets in
   * flight stay in step instead of trickling into one transaction each).
   */
  read<T>(request: IDBRequest<T>): Promise<T>;
}

/** Reads placed on one transaction before a fresh one is taken. */
const CHAIN_LIMIT = 64;

interface Open extends Batch {
  db: IDBDatabase;
  mode: IDBTransactionMode;
  tx: IDBTransaction;
  /** Called at seal: settles the readers once the last request is in. */
  settle(): void;
}

/** Resolves when the transaction commits; rejects with its error when it aborts. */
export const finished = (tx: IDBTransaction) =>
  new Promise<void>((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = tx.onabort = () => reject(tx.error ?? new DOMException("the transaction was aborted", "AbortError"));
  });

/** Tells the browser no more requests are coming (older engines without `commit` auto-commit). */
export const commit = (tx: IDBTransaction) => {
  try {
    tx.commit?.();
  } catch {
    // already committing or finished
  }
};

const settled = Promise.resolve();

/** The readers' side of a batch: one promise for all of them, settled by the last request. */
function readers(tx: IDBTransaction) {
  let last: IDBRequest | undefined;
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const all = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  all.catch(() => {});
  tx.addEventListener("abort", () => reject(tx.error ?? new DOMException("the transaction was aborted", "AbortError")));
  return {
    read<T>(request: IDBRequest<T>): Promise<T> {
      last = request;
      return all.then(() => request.result);
    },
    // Requests complete in order, so the last one's success means every one is in.
    settle: () => (last ? last.addEventListener("success", () => resolve()) : resolve()),
  };
}

const noReads = {
  read: (): never => {
    throw new Error("read() is for readonly batches");
  },
  settle: () => {},
};

/** True for the error a request placed on a transaction that is no longer active throws. */
const inactive = (error: unknown) => (error as DOMException)?.name === "TransactionInactiveError";

export function batcher() {
  let open: Open | undefined;
  /** The newest transaction, while it is a readonly one that reads may chain onto. */
  let chain: { db: IDBDatabase; tx: IDBTransaction; store: IDBObjectStore; reads: number } | undefined;

  const seal = () => {
    const batch = open;
    open = undefined;
    if (!batch) return;
    batch.settle();
    // Writers commit at once (no wait for the auto-commit round trip); readers are left to
    // auto-commit, which the browser suite in bench/ finds no slower for them.
    if (batch.mode === "readwrite") commit(batch.tx);
  };

  /** A transaction of its own (sealing the open batch first, to keep order); the caller commits it. */
  const begin = (db: IDBDatabase, mode: IDBTransactionMode): IDBTransaction => {
    seal();
    chain = undefined;
    return db.transaction(RECORDS, mode);
  };

  /** Makes `batch` the open one, sealed at the end of this microtask. */
  const opened = (batch: Open): Open => {
    open = batch;
    queueMicrotask(() => {
      if (open === batch) seal();
    });
    return batch;
  };

  /** A batch of the newest transaction's readers, or of a new readonly transaction. */
  const readBatch = (db: IDBDatabase, chained: boolean): Open => {
    if (!chained || !chain || chain.db !== db || ++chain.reads > CHAIN_LIMIT) {
      const tx = begin(db, "readonly");
      chain = { db, tx, store: tx.objectStore(RECORDS), reads: 0 };
    }
    const { tx, store } = chain;
    return opened({ db, mode: "readonly", tx, store, done: settled, ...readers(tx) });
  };

  /** The open write batch, or a new one (committed at the end of this microtask). Reads go through `read`. */
  const join = (db: IDBDatabase): Batch => {
    if (open && open.mode === "readwrite" && open.db === db) return open;
    const tx = begin(db, "readwrite");
    const done = finished(tx);
    done.catch(() => {}); // joiners see the rejection; a batch whose only request threw has none
    return opened({ db, mode: "readwrite", tx, store: tx.objectStore(RECORDS), done, ...noReads });
  };

  /**
   * Places read requests through `place`: on the open read batch, else chained onto the newest
   * transaction when it is a still-active readonly one, else on a new readonly transaction. A
   * chained transaction that went inactive throws at the first request, before anything is
   * placed; the read then takes a new one.
   */
  const read = <R>(db: IDBDatabase, place: (batch: Batch) => R): R => {
    if (open && open.mode === "readonly" && open.db === db) return place(open);
    if (chain && chain.db === db) {
      const batch = readBatch(db, true);
      try {
        return place(batch);
      } catch (error) {
        if (!inactive(error)) throw error;
        if (open === batch) open = undefined;
      }
    }
    return place(readBatch(db, false));
  };

  return { join, begin, seal, read };
}

export type Batcher = ReturnType<typeof batcher>;
