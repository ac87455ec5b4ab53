import { randomUUID } from "node:crypto";
import type { Clock } from "./clock.ts";
import type { Committer } from "./committer.ts";
import { LeaseLostError } from "./errors.ts";
import { Execution, type ExecutionHost } from "./execution.ts";
import { HotCache } from "./hot-cache.ts";
import { planSchedule } from "./schedule/plan.ts";
import type { DueSchedule } from "./schedule/types.ts";
import type { GroupResult, NewRun, RunRecord, Store } from "./store/types.ts";
import type { Telemetry } from "./telemetry/index.ts";
import type { DrainReport, FinishedRun, WorkerDeps, WorkerOptions } from "./worker-types.ts";
import { concurrencyOf, type Workflow } from "./workflow.ts";
import { decodeJson } from "./json.ts";

export type { DrainReport, FinishedRun, WorkerOptions } from "./worker-types.ts";

/**
 * Claims runnable runs and executes them. Wakes exactly at the next due timer (read from the store),
 * at once when this process creates work (signal), and on a slow safety poll.
 */
export class Worker implements ExecutionHost {
  readonly id: string;
  readonly store: Store;
  readonly committer: Committer;
  readonly clock: Clock;
  readonly maxValueBytes: number;
  readonly streamRetention: number;
  readonly telemetry: Telemetry;
  readonly #deps: WorkerDeps;
  readonly #concurrency: number;
  readonly #leaseMs: number;
  readonly #pollMs: number;
  readonly #claimBatch: number;
  readonly #active = new Map<string, Execution>();
  readonly #loading = new Map<string, number>();
  /** Runs started here whose insert is not committed yet: no row to renew, and a lease fresh from the start. */
  readonly #inserting = new Set<string>();
  readonly #hot: HotCache;
  #running = false;
  #ticking = false;
  #tickQueued = false;
  /** The last claim may have left due runs behind (it was full, or there was no room). */
  #backlog = true;
  #again = false;
  /** When a schedule is next due (0: look now); the tick loop fires schedules only then. */
  #schedulesDueAt = 0;
  #wakeTimer: unknown = null;
  #wakeAt: number | null = null;
  #pollTimer: NodeJS.Timeout | null = null;
  #renewTimer: unknown = null;
  #renewing = false;
  #unsubscribe: (() => void) | null = null;
  #startedAt = 0;
  #draining = false;
  #drainWake: (() => void) | null = null;
  #report: DrainReport | null = null;

  constructor(deps: WorkerDeps, opts: WorkerOptions = {}) {
    this.#deps = deps;
    this.store = deps.store;
    this.committer = deps.committer;
    this.clock = deps.clock;
    this.maxValueBytes = deps.maxValueBytes;
    this.streamRetention = deps.streamRetention;
    this.telemetry = deps.telemetry;
    this.id = opts.id ?? `w-${randomUUID()}`;
    this.#concurrency = opts.concurrency ?? 500;
    this.#leaseMs = opts.leaseMs ?? 30_000;
    this.#pollMs = opts.pollMs ?? 1_000;
    this.#hot = new HotCache(opts.hotCacheSize ?? 1_000, opts.hotWindowMs ?? 60_000);
    this.#claimBatch = Math.max(1, Math.min(16, Math.ceil(this.#concurrency / 8)));
  }

  get owner(): string {
    return this.id;
  }

  /** Runs this worker holds now, and suspended runs it keeps hot. */
  get load(): { active: number; hot: number } {
    return { active: this.#active.size + this.#loading.size, hot: this.#hot.size };
  }

  /** When this worker's wake-up timer is set to fire (null: none armed). */
  get wakeAt(): number | null {
    return this.#wakeAt;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#startedAt = this.clock.now();
    void this.#heartbeat();
    this.#unsubscribe = this.store.onWork?.(() => this.signal()) ?? null;
    this.#poll();
    this.#renew();
    this.signal();
  }

  /** Stops claiming, stops the runs it holds and gives them back so any worker can take them at once. */
  async stop(): Promise<void> {
    await this.#stopping();
    // A pass that was already talking to the store finishes before the store may be closed; runs its
    // claim took meanwhile, and runs still loading, are handed back before this resolves.
    while (this.#ticking || this.#loading.size > 0) await new Promise((r) => setImmediate(r));
    await this.committer.drain();
  }

  async #stopping(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    this.#unsubscribe?.();
    if (this.#pollTimer) clearTimeout(this.#pollTimer);
    this.#clearWake();
    if (this.#renewTimer !== null) this.clock.clearTimer(this.#renewTimer);
    for (const e of [...this.#active.values()]) this.#giveUp(e, "the worker is shutting down");
    this.#hot.clear();
    await this.committer.drain();
    // A renewal in flight finishes before the worker's row goes, or it would write the row back.
    while (this.#renewing) await new Promise((r) => setImmediate(r));
    await this.store.removeWorker(this.id).catch(() => {});
  }

  /** Tells the store this worker is alive and which workflow versions it executes. */
  async #heartbeat(): Promise<void> {
    try {
      await this.store.heartbeat({ id: this.id, workflows: this.#deps.registry.served(), startedAt: this.#startedAt, heartbeatAt: this.clock.now() });
    } catch (e) {
      if (this.#running) this.#deps.onError(e, "recording the worker's heartbeat");
    }
  }

  /**
   * Serverless: runs due work for at most `budgetMs` (wall time) and returns before it ends. Runs still
   * executing near the end are stopped and handed back (a step cut short counts as an attempt), so
   * every run is consistent when this returns and the next call, in any process, carries on.
   */
  async drain(budgetMs: number): Promise<DrainReport> {
    if (this.#running) throw new Error("drain() is for a kernel whose worker is not started; a started worker already runs due work.");
    const t0 = performance.now();
    const margin = Math.min(250, Math.max(20, budgetMs * 0.15));
    const deadline = t0 + budgetMs - margin;
    const report: DrainReport = { claimed: 0, finished: 0, suspended: 0, handedBack: 0, ms: 0 };
    this.#report = report;
    this.#running = true;
    this.#draining = true;
    this.#renew();
    try {
      for (;;) {
        const before = report.claimed;
        await this.#tick();
        const idle = this.#active.size === 0 && this.#loading.size === 0;
        if ((idle && report.claimed === before) || performance.now() >= deadline) break;
        // Wait for a run to finish or suspend (it signals), a due timer, or the deadline.
        await new Promise<void>((resolve) => {
          this.#drainWake = resolve;
          setTimeout(resolve, Math.max(0, Math.min(deadline - performance.now(), this.#wakeAt === null ? 50 : this.#wakeAt - this.clock.now())));
        });
        this.#drainWake = null;
      }
    } finally {
      this.#running = false;
      this.#draining = false;
      this.#clearWake();
      if (this.#renewTimer !== null) this.clock.clearTimer(this.#renewTimer);
      for (const e of [...this.#active.values()]) if (this.#giveUp(e, "the drain's budget ran out")) report.handedBack++;
      this.#hot.clear();
      // Runs still loading are handed back too before the function may be frozen.
      while (this.#loading.size > 0) await new Promise((r) => setImmediate(r));
      await this.committer.drain();
      this.#report = null;
    }
    report.ms = Math.round(performance.now() - t0);
    return report;
  }

  /** Schedules changed: look at them on the next pass. */
  schedulesChanged(): void {
    this.#schedulesDueAt = 0;
    this.signal();
  }

  /** There may be new runnable work: claim on the next turn of the event loop (signals in one turn coalesce). */
  signal(): void {
    if (!this.#running) return;
    if (this.#draining) {
      this.#drainWake?.();
      return;
    }
    if (this.#ticking) {
      this.#again = true;
      return;
    }
    if (this.#tickQueued) return;
    this.#tickQueued = true;
    setImmediate(() => {
      this.#tickQueued = false;
      if (this.#ticking) this.#again = true;
      else void this.#tick();
    });
  }

  /** Starts a new run on this worker directly, its insert committed with its first step. Null if it cannot take it. */
  startLocal(wf: Workflow<never, unknown>, run: NewRun): Promise<GroupResult> | null {
    if (!this.#running || this.#room() <= 0 || this.#deps.registry.get(wf.name) !== wf) return null;
    const now = this.clock.now();
    run.claimedBy = { owner: this.id, leaseExpiresAt: now + this.#leaseMs };
    const exec = new Execution(this, wf, {
      id: run.id, namespace: run.namespace, input: run.input, parentId: run.parentId, timeoutMs: run.timeoutMs,
      epoch: 1, deadlineAt: run.timeoutMs === null ? null : now + run.timeoutMs, traceParent: run.traceParent ?? null,
      concurrencyKey: run.concurrencyKey ?? null,
    });
    this.#active.set(run.id, exec);
    const inserted = exec.begin(run);
    if (!inserted) return null;
    this.#inserting.add(run.id);
    const settled = () => this.#inserting.delete(run.id);
    inserted.then(settled, settled);
    return inserted;
  }

  /** True while this worker executes the run (so it has not ended). */
  holds(runId: string): boolean {
    return this.#active.has(runId) || this.#loading.has(runId);
  }

  /** Tells the execution holding `runId` here, if any, to look at its events and children again. */
  poke(runId: string): void {
    this.#active.get(runId)?.poke();
  }

  /** Stops the local execution of a run that was cancelled elsewhere. */
  drop(runId: string, reason: Error): void {
    this.#active.get(runId)?.abandon(reason);
    this.#hot.take(runId);
  }

  // ---- ExecutionHost ----

  released(exec: Execution, outcome: "finished" | "suspended" | "lost"): void {
    if (this.#active.get(exec.runId) === exec) this.#active.delete(exec.runId);
    if (this.#report && outcome !== "lost") this.#report[outcome]++;
    if (outcome === "suspended" && this.#running) this.#hot.offer(exec, this.clock.now());
    // A run that ended frees a slot: claim again only if due runs were left behind for want of room
    // (new work from elsewhere signals on its own). That spares a claim and a wake-up query per run.
    if (outcome !== "finished" || this.#backlog) this.signal();
  }

  published(runId: string): void {
    this.#deps.onPublished(runId);
  }

  finished(run: FinishedRun): void {
    if (run.parentId) this.poke(run.parentId);
    // Its parent or the next run of its lane may have become due in the same commit.
    if (run.parentId || run.lane) this.signal();
    this.#deps.onFinished(run);
  }

  // ---- claiming ----

  #room(): number {
    return this.#concurrency - this.#active.size - this.#loading.size;
  }

  async #tick(): Promise<void> {
    this.#ticking = true;
    let deferred = false;
    try {
      do {
        this.#again = false;
        // Due schedule ticks become pending runs (whatever this worker's load); then claim what is runnable.
        const now = this.clock.now();
        if (now >= this.#schedulesDueAt) {
          this.#schedulesDueAt = Number.POSITIVE_INFINITY;
          const plan = (s: DueSchedule) => {
            const p = planSchedule(s, now, (s, id, key) => this.#scheduledRun(s, id, key));
            for (const t of [...p.ticks, ...p.dequeued]) if (t.status === "started") this.telemetry.scheduleTick(s.id, s.workflow, now - t.tickAt);
            return p;
          };
          if ((await this.store.fireSchedules(now, 100, this.#deps.registry.served(), plan)) > 0) this.#again = true;
        }
        const limit = Math.min(this.#room(), 256);
        // Saturated with runs waiting: claim in batches as slots free up, not one claim per finished run.
        const busy = this.#active.size + this.#loading.size > 0;
        if (limit <= 0 || (busy && this.#backlog && limit < this.#claimBatch)) {
          this.#backlog = true;
          deferred = true;
          break;
        }
        if (!this.#running) break;
        const runs = await this.store.claim({
          owner: this.id, limit, now: this.clock.now(), leaseMs: this.#leaseMs, workflows: this.#deps.registry.served(),
        });
        if (!this.#running) {
          // Stopped while the claim was in flight: what it took goes straight back.
          for (const r of runs) this.#handBack(r.id, r.epoch);
          break;
        }
        for (const r of runs) this.#adopt(r);
        this.#backlog = runs.length === limit;
        if (this.#report) this.#report.claimed += runs.length;
        if (runs.length === limit) this.#again = true;
      } while (this.#again && this.#running);
      // A deferred claim comes back with the next run that ends: no wake-up to arm meanwhile.
      if (this.#running && !deferred) {
        const next = await this.store.nextWakeAt(this.#deps.registry.served(), this.id);
        this.#schedulesDueAt = next.schedules ?? Number.POSITIVE_INFINITY;
        // At capacity, a due run cannot be claimed anyway: wake for schedules only (a release signals for runs).
        const runs = this.#room() > 0 ? next.runs : null;
        this.#armWake(runs === null ? next.schedules : next.schedules === null ? runs : Math.min(runs, next.schedules));
      }
    } catch (e) {
      if (this.#running) this.#deps.onError(e, "claiming runs");
    } finally {
      this.#ticking = false;
    }
    if (this.#again) this.signal();
  }

  /** A schedule's run, made as kernel.start() makes one: the workflow's timeout, concurrency lane and version apply. */
  #scheduledRun(s: DueSchedule, id: string, key: string): NewRun {
    const wf = this.#deps.registry.require(s.workflow);
    return {
      id, namespace: s.namespace, workflow: wf.name, key, input: s.input, parentId: null, parentSeq: null, timeoutMs: wf.timeoutMs,
      claimedBy: null, version: wf.version, traceParent: null, ...concurrencyOf(wf, decodeJson(s.input) as never, s.namespace),
    };
  }

  #adopt(run: RunRecord): void {
    const wf = this.#deps.registry.get(run.workflow);
    if (!wf) return;
    const hot = this.#hot.take(run.id);
    // Hot only if nobody else held the run since it suspended here: the journal is then exactly what the coroutine saw.
    if (hot && hot.state === "suspended" && hot.epoch + 1 === run.epoch) {
      this.#active.set(run.id, hot);
      hot.resume(run);
      return;
    }
    this.#loading.set(run.id, run.epoch);
    Execution.load(this, wf, run).then(
      (exec) => {
        this.#loading.delete(run.id);
        if (!this.#running) return this.#handBack(run.id, run.epoch);
        this.#active.set(run.id, exec);
        exec.begin();
      },
      (e) => {
        this.#loading.delete(run.id);
        if (this.#running) this.#deps.onError(e, `loading run ${run.id}`);
        // Give it back rather than sit on it until the lease expires.
        this.#handBack(run.id, run.epoch);
      },
    );
  }

  /**
   * Stops an execution this worker is giving up. One whose end (finish or suspension) is already
   * queued keeps it: that write commits in the drain, and a hand-back after it would reopen the run.
   * True if the run was handed back.
   */
  #giveUp(e: Execution, why: string): boolean {
    const ending = e.state === "finishing" || e.state === "suspending";
    const epoch = e.epoch;
    e.abandon(new Error(why));
    if (!ending) this.#handBack(e.runId, epoch);
    return !ending;
  }

  /** Gives a claimed run back untouched: runnable again at once by any worker. */
  #handBack(runId: string, epoch: number): void {
    void this.committer.write(runId, epoch, this.id, { op: "release" }).catch((e) => this.#deps.onError(e, `handing run ${runId} back`));
  }

  #armWake(at: number | null): void {
    if (at === this.#wakeAt) return;
    this.#clearWake();
    if (at === null) return;
    this.#wakeAt = at;
    this.#wakeTimer = this.clock.setTimer(() => {
      this.#wakeTimer = null;
      this.#wakeAt = null;
      this.signal();
    }, Math.max(0, at - this.clock.now()));
  }

  #clearWake(): void {
    if (this.#wakeTimer !== null) this.clock.clearTimer(this.#wakeTimer);
    this.#wakeTimer = null;
    this.#wakeAt = null;
  }

  #poll(): void {
    this.#pollTimer = setTimeout(() => {
      if (!this.#running) return;
      this.signal();
      this.#poll();
    }, this.#pollMs);
    this.#pollTimer.unref();
  }

  #renew(): void {
    this.#renewTimer = this.clock.setTimer(async () => {
      if (!this.#running) return;
      this.#renewing = true;
      const held = [...this.#active.values()].filter((e) => !this.#inserting.has(e.runId)).map((e) => ({ id: e.runId, epoch: e.epoch }));
      for (const [id, epoch] of this.#loading) held.push({ id, epoch });
      await this.#heartbeat();
      if (!this.#running) return void (this.#renewing = false);
      try {
        const lost = await this.store.renewLeases(this.id, held, this.clock.now() + this.#leaseMs);
        // A renewal answers for the epochs it sent: a run claimed again since then is not the one it lost.
        const sent = new Map(held.map((h) => [h.id, h.epoch]));
        for (const id of lost) {
          const e = this.#active.get(id);
          if (e && e.epoch === sent.get(id)) e.abandon(new LeaseLostError(id, e.epoch));
        }
      } catch (e) {
        if (this.#running) this.#deps.onError(e, "renewing leases");
      }
      this.#renewing = false;
      this.#renew();
    }, Math.max(1, Math.floor(this.#leaseMs / 3)));
  }
}
