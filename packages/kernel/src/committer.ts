import type { Clock } from "./clock.ts";
import { StoreRefusedError } from "./errors.ts";
import type { GroupResult, Store, WriteGroup, WriteOp } from "./store/types.ts";

interface Pending {
  key: string;
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
 * Group commit. Writes from every run on this worker that arrive within one turn of the event loop
 * share one transaction (one fsync); a write that arrives while a commit is in flight joins the next.
 * A run's writes within a batch form one group, fenced by its lease epoch. A batch the store refuses
 * is committed again one group at a time, so one run's bad write never touches another run.
 */
export class Committer {
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #onError: (e: unknown, where: string) => void;
  #next = new Map<string, Pending>();
  /** The latest group of each run key, until it settles: what `durable` waits for, even mid-flush. */
  #last = new Map<string, Promise<GroupResult>>();
  #scheduled = false;
  #flushing: Promise<void> | null = null;

  constructor(store: Store, clock: Clock, onError: (e: unknown, where: string) => void = () => {}) {
    this.#store = store;
    this.#clock = clock;
    this.#onError = onError;
  }

  /** Queues `op` for run `runId`; the promise settles when the batch holding it has committed. */
  write(runId: string, epoch: number, owner: string, op: WriteOp): Promise<GroupResult> {
    const k = `${runId}:${epoch}`;
    let p = this.#next.get(k);
    if (!p) {
      let resolve!: (r: GroupResult) => void;
      let reject!: (e: unknown) => void;
      const promise = new Promise<GroupResult>((res, rej) => ((resolve = res), (reject = rej)));
      p = { key: k, group: { runId, epoch, owner, ops: [] }, size: 0, promise, resolve, reject };
      this.#next.set(k, p);
      this.#last.set(k, promise);
    }
    p.group.ops.push(op);
    p.size += sizeOf(op);
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
    this.#next = new Map();
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
    try {
      results = await this.#store.commit(
        batch.map((p) => p.group),
        this.#clock.now(),
      );
    } catch (e) {
      error = e;
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
      if (this.#last.get(p.key) === p.promise) this.#last.delete(p.key);
      if (results) p.resolve(results[i] as GroupResult);
      else if (isRefusal(error))
        p.resolve({ ok: false, reason: "refused", error: new StoreRefusedError(p.group.runId, error) });
      else p.reject(error);
    }
  }
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
