import { LeaseLostError } from "../errors.ts";
import { Execution, type ExecutionHost } from "../execution.ts";
import type { RunRecord } from "../store/types.ts";
import type { Registry } from "../workflow.ts";
import { HotCache } from "./hot-cache.ts";

/** What the runs a worker holds need from it. */
export interface HeldHost {
  readonly id: string;
  readonly registry: Registry;
  /** The worker, as the host of the executions it holds. */
  readonly executions: ExecutionHost;
  running(): boolean;
  onError(e: unknown, where: string): void;
}

/**
 * The runs one worker holds: executing, loading their journal, being inserted (started here), and
 * suspended runs kept hot. Taking a claimed run on (hot or replayed) and giving one back live here.
 */
export class HeldRuns {
  readonly active = new Map<string, Execution>();
  /** Claimed runs whose journal is loading, by id, with the epoch they were claimed at. */
  readonly loading = new Map<string, number>();
  /** Runs started here whose insert is not committed yet: no row to renew, and a lease fresh from the start. */
  readonly inserting = new Set<string>();
  readonly hot: HotCache;
  readonly #host: HeldHost;

  constructor(host: HeldHost, hotCacheSize: number, hotWindowMs: number) {
    this.#host = host;
    this.hot = new HotCache(hotCacheSize, hotWindowMs);
  }

  /** Runs taking a slot: executing or loading. */
  get count(): number {
    return this.active.size + this.loading.size;
  }

  holds(runId: string): boolean {
    return this.active.has(runId) || this.loading.has(runId);
  }

  /** The leases to renew: every run held, but those whose row is not inserted yet. */
  leases(): { id: string; epoch: number }[] {
    const held = [...this.active.values()]
      .filter((e) => !this.inserting.has(e.runId))
      .map((e) => ({ id: e.runId, epoch: e.epoch }));
    for (const [id, epoch] of this.loading) held.push({ id, epoch });
    return held;
  }

  /** The store no longer grants this worker the run at `epoch`: stop it if that is the execution held. */
  lost(id: string, epoch: number): void {
    const e = this.active.get(id);
    if (e && e.epoch === epoch) e.abandon(new LeaseLostError(id, e.epoch));
  }

  /** Takes on a run this worker claimed: resumes it hot if it can, else loads its journal and replays it. */
  adopt(run: RunRecord): void {
    const host = this.#host;
    const wf = host.registry.get(run.workflow);
    if (!wf) return;
    const hot = this.hot.take(run.id);
    // Hot only if nobody else held the run since it suspended here: the journal is then exactly what the coroutine saw.
    if (hot && hot.state === "suspended" && hot.epoch + 1 === run.epoch) {
      this.active.set(run.id, hot);
      hot.resume(run);
      return;
    }
    this.loading.set(run.id, run.epoch);
    // Claimed at epoch 1, the run was never held: no worker can have written its journal (its events still count).
    const loaded =
      run.epoch === 1
        ? host.executions.store.loadEvents(run.id).then((events) => new Execution(host.executions, wf, run, [], events))
        : Execution.load(host.executions, wf, run);
    loaded.then(
      (exec) => {
        this.loading.delete(run.id);
        if (!host.running()) return this.handBack(run.id, run.epoch);
        this.active.set(run.id, exec);
        exec.begin();
      },
      (e) => {
        this.loading.delete(run.id);
        if (host.running()) host.onError(e, `loading run ${run.id}`);
        // Give it back rather than sit on it until the lease expires.
        this.handBack(run.id, run.epoch);
      },
    );
  }

  /**
   * Stops every execution this worker holds and forgets the hot ones. An execution whose end (finish
   * or suspension) is already queued keeps it: that write commits in the committer's drain, and a
   * hand-back after it would reopen the run. Returns how many runs were handed back.
   */
  giveUpAll(why: string): number {
    let handedBack = 0;
    for (const e of [...this.active.values()]) {
      const ending = e.state === "finishing" || e.state === "suspending";
      const epoch = e.epoch;
      e.abandon(new Error(why));
      if (!ending) {
        this.handBack(e.runId, epoch);
        handedBack++;
      }
    }
    this.hot.clear();
    return handedBack;
  }

  /** Resolves once no run is loading: each one loading is handed back when its load ends. */
  async loaded(): Promise<void> {
    while (this.loading.size > 0) await new Promise((r) => setImmediate(r));
  }

  /** Gives a claimed run back untouched: runnable again at once by any worker. */
  handBack(runId: string, epoch: number): void {
    const host = this.#host;
    void host.executions.committer
      .write(runId, epoch, host.id, { op: "release" })
      .catch((e) => host.onError(e, `handing run ${runId} back`));
  }
}
