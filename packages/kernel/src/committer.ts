import type { Clock } from "./clock.ts";
import { StoreRefusedError } from "./errors.ts";
import type { GroupResult, Store, WriteGroup, WriteOp } from "./store/types.ts";

interface Pending {
  group: WriteGroup;
  /** Characters of payload the group carries (values, inputs, errors, chunks): what bounds a batch. */
  size: number;
  promise: Promise<GroupResult>;
  resolve: (r: GroupResult) => void;
  reject: (e: unknown) => void;
}

/**
 * One commit carries at most this many characters of payload (and at least one group), so ~300 step
 * results near the 1 MiB value limit finishing together never exceed what one statement may carry.
 */
export const MAX_BATCH_CHARS = 8 * 1024 * 1024;

/**
 * Values by (run id, epoch), keyed by the run id string itself: V8 keeps a string's hash in the string,
 * and a run's id is the same string on every call, where a key made per call (`${runId}:${epoch}`) was
 * flattened and hashed anew each time (1.5 µs a lookup, 4 a step: a tenth of a step's CPU on SQLite).
 * Nearly always one epoch a run; another is chained behind it.
 */
class ByRun<T> {
  readonly #m = new Map<string, ByRunSlot<T>>();

  get size(): number {
    return this.#m.size;
  }

  get(runId: string, epoch: number): T | undefined {
    for (let s = this.#m.get(runId) ?? null; s; s = s.next) if (s.epoch === epoch) return s.value;
    return undefined;
  }

  /** A new epoch goes behind the run's others, so values() keeps the order writes came in. */
  set(runId: string, epoch: number, value: T): void {
    let s = this.#m.get(runId);
    if (!s) {
      this.#m.set(runId, { epoch, value, next: null });
      return;
    }
    for (; ; s = s.next) {
      if (s.epoch === epoch) {
        s.value = value;
        return;
      }
      if (!s.next) break;
    }
    s.next = { epoch, value, next: null };
  }

  /** Removes (run, epoch) if its value is still `value`. */
  deleteIf(runId: string, epoch: number, value: T): void {
    const head = this.#m.get(runId);
    let prev: ByRunSlot<T> | null = null;
    for (let s: ByRunSlot<T> | null = head ?? null; s; prev = s, s = s.next) {
      if (s.epoch !== epoch) continue;
      if (s.value !== value) return;
      if (prev) prev.next = s.next;
      else if (s.next) this.#m.set(runId, s.next);
      else this.#m.delete(runId);
      return;
    }
  }

  *values(): IterableIterator<T> {
    for (const s of this.#m.values()) for (let x: ByRunSlot<T> | null = s; x; x = x.next) yield x.value;
  }
}
type ByRunSlot<T> = { epoch: number; value: T; next: ByRunSlot<T> | null };

/**
 * Group commit. Writes from every run on this worker that arrive within one turn of the event loop
 * share one transaction (one fsync); a write that arrives while a commit is in flight joins the next.
 * A run's writes within a batch form one group, fenced by its lease epoch. A batch the store refuses
 * is committed again one group at a time, so one run's bad write never touches another run.
 */
export class Committer {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #onError: (e: unknown, where: string) => void;
  #next = new ByRun<Pending>();
  /** The latest group of each run and epoch, until it settles: what `durable` waits for, even mid-flush. */
  #last = new ByRun<Promise<GroupResult>>();
  #scheduled = false;
  #flushing: Promise<void> | null = null;

  constructor(store: Store, clock: Clock, onError: (e: unknown, where: string) => void = () => {}) {
    this.#store = store;
    this.#clock = clock;
    this.#onError = onError;
  }

  /** Queues `op` for run `runId`; the promise settles when the batch holding it has committed. */
  write(runId: string, epoch: number, owner: string, op: WriteOp): Promise<GroupResult> {
    let p = this.#next.get(runId, epoch);
    if (!p) {
      let resolve!: (r: GroupResult) => void;
      let reject!: (e: unknown) => void;
      const promise = new Promise<GroupResult>((res, rej) => ((resolve = res), (reject = rej)));
      p = { group: { runId, epoch, owner, ops: [] }, size: 0, promise, resolve, reject };
      this.#next.set(runId, epoch, p);
      this.#last.set(runId, epoch, promise);
    }
    p.group.ops.push(op);
    p.size += sizeOf(op);
    this.#schedule();
    return p.promise;
  }

  /** Settles when everything queued so far for the run at this epoch is durable (or refused). */
  durable(runId: string, epoch: number): Promise<GroupResult> | undefined {
    return this.#last.get(runId, epoch);
  }

  /** Waits until every queued write has been committed. */
  async drain(): Promise<void> {
    while (this.#flushing || this.#next.size > 0) {
      if (this.#flushing) await this.#flushing;
      else await this.#run();
    }
  }

  #schedule(): void {
    if (this.#scheduled || this.#flushing) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      if (!this.#flushing) void this.#run();
    });
  }

  /** One flush at a time: a drain and a scheduled flush never commit side by side. */
  #run(): Promise<void> {
    this.#flushing = this.#flush().finally(() => {
      this.#flushing = null;
      if (this.#next.size > 0) this.#schedule();
    });
    return this.#flushing;
  }

  async #flush(): Promise<void> {
    const all = [...this.#next.values()];
    this.#next = new ByRun();
    for (let i = 0; i < all.length; ) {
      const batch: Pending[] = [];
      let chars = 0;
      for (; i < all.length && (batch.length === 0 || chars + (all[i] as Pending).size <= MAX_BATCH_CHARS); i++) {
        batch.push(all[i] as Pending);
        chars += (all[i] as Pending).size;
      }
      await this.#commit(batch);
    }
  }

  async #commit(batch: Pending[]): Promise<void> {
    let results: GroupResult[] | null = null;
    let error: unknown;
    // A batch chosen as a deadlock's victim was rolled back whole: committing it again is safe and keeps
    // its order. Two workers' batches can take their rows and lanes in opposite orders (two runs started
    // with the same keys in different orders); failing would leave their runs held until their leases end.
    for (let attempt = 1; ; attempt++) {
      try {
        results = await this.#store.commit(
          batch.map((p) => p.group),
          this.#clock.now(),
        );
        error = undefined;
        break;
      } catch (e) {
        error = e;
        if (attempt >= MAX_ATTEMPTS || !isTransient(e)) break;
      }
    }
    if (!results && batch.length > 1 && isRefusal(error)) {
      // The store refused the batch for what it holds: find the group at fault by committing each alone.
      this.#onError(error, `committing the writes of ${batch.length} runs (each is now committed alone)`);
      for (const p of batch) await this.#commit([p]);
      return;
    }
    if (!results)
      this.#onError(
        error,
        `committing the writes of ${batch.length === 1 ? `run ${batch[0]?.group.runId}` : `${batch.length} runs`}`,
      );
    for (let i = 0; i < batch.length; i++) {
      const p = batch[i] as Pending;
      this.#last.deleteIf(p.group.runId, p.group.epoch, p.promise);
      if (results) p.resolve(results[i] as GroupResult);
      else if (isRefusal(error))
        p.resolve({ ok: false, reason: "refused", error: new StoreRefusedError(p.group.runId, error) });
      else p.reject(error);
    }
  }
}

/** Attempts at a batch that fails for a transient conflict between transactions (a deadlock, a serialization failure). */
const MAX_ATTEMPTS = 5;

/** Postgres' deadlock_detected and serialization_failure: the transaction was rolled back and may simply be run again. */
function isTransient(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === "40P01" || code === "40001";
}

/**
 * True for an error about the data a commit carries (Postgres classes 22 data exception and 54
 * program limit exceeded; SQLite's too big; too long to serialise), which committing again cannot cure; false for a
 * connection or server failure, which a later attempt may.
 */
function isRefusal(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code === "string" && /^(22|54)[0-9A-Z]{3}$/.test(code)) return true;
  // A group too large to even serialise for the wire (V8's string limit) is refused the same way.
  return /string or blob too big|SQLITE_TOOBIG|Invalid string length/i.test(String((e as Error | null)?.message ?? ""));
}

function sizeOf(op: WriteOp): number {
  switch (op.op) {
    case "insertRun":
      return 256 + (op.run.input?.length ?? 0);
    case "putEntry":
      return 256 + (op.entry.value?.length ?? 0) + errorSize(op.entry.error);
    case "finish":
      return 256 + (op.output?.length ?? 0) + errorSize(op.error);
    case "publish":
      return 64 + op.data.length;
    case "continueAsNew":
      return 64 + (op.input?.length ?? 0);
    default:
      return 64;
  }
}

const errorSize = (e: { message: string; stack?: string } | null): number =>
  e ? e.message.length + (e.stack?.length ?? 0) : 0;
