import type { Clock } from "./clock.ts";
import type { GroupResult, Store, WriteGroup, WriteOp } from "./store/types.ts";

interface Pending {
  key: string;
  group: WriteGroup;
  promise: Promise<GroupResult>;
  resolve: (r: GroupResult) => void;
  reject: (e: unknown) => void;
}

/**
 * Group commit. Writes from every run on this worker that arrive within one turn of the event loop
 * share one transaction (one fsync); a write that arrives while a commit is in flight joins the next.
 * A run's writes within a batch form one group, fenced by its lease epoch.
 */
export class Committer {
  readonly #store: Store;
  readonly #clock: Clock;
  #next = new Map<string, Pending>();
  /** The latest group of each run key, until it settles: what `durable` waits for, even mid-flush. */
  #last = new Map<string, Promise<GroupResult>>();
  #scheduled = false;
  #flushing: Promise<void> | null = null;

  constructor(store: Store, clock: Clock) {
    this.#store = store;
    this.#clock = clock;
  }

  /** Queues `op` for run `runId`; the promise settles when the batch holding it has committed. */
  write(runId: string, epoch: number, owner: string, op: WriteOp): Promise<GroupResult> {
    const k = `${runId}:${epoch}`;
    let p = this.#next.get(k);
    if (!p) {
      let resolve!: (r: GroupResult) => void;
      let reject!: (e: unknown) => void;
      const promise = new Promise<GroupResult>((res, rej) => ((resolve = res), (reject = rej)));
      p = { key: k, group: { runId, epoch, owner, ops: [] }, promise, resolve, reject };
      this.#next.set(k, p);
      this.#last.set(k, promise);
    }
    p.group.ops.push(op);
    this.#schedule();
    return p.promise;
  }

  /** Settles when everything queued so far for the run at this epoch is durable (or refused). */
  durable(runId: string, epoch: number): Promise<GroupResult> | undefined {
    return this.#last.get(`${runId}:${epoch}`);
  }

  /** Waits until every queued write has been committed. */
  async drain(): Promise<void> {
    while (this.#flushing || this.#next.size > 0) {
      if (this.#flushing) await this.#flushing;
      else await this.#flush();
    }
  }

  #schedule(): void {
    if (this.#scheduled || this.#flushing) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      if (!this.#flushing) this.#flushing = this.#flush().finally(() => {
        this.#flushing = null;
        if (this.#next.size > 0) this.#schedule();
      });
    });
  }

  async #flush(): Promise<void> {
    const batch = [...this.#next.values()];
    this.#next = new Map();
    if (batch.length === 0) return;
    let results: GroupResult[] | null = null;
    let error: unknown;
    try {
      results = await this.#store.commit(batch.map((p) => p.group), this.#clock.now());
    } catch (e) {
      error = e;
    }
    for (let i = 0; i < batch.length; i++) {
      const p = batch[i] as Pending;
      if (this.#last.get(p.key) === p.promise) this.#last.delete(p.key);
      if (results) p.resolve(results[i] as GroupResult);
      else p.reject(error);
    }
  }
}
