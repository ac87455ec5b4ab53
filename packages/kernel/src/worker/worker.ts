import { randomUUID } from "node:crypto";
import type { Clock } from "../clock.ts";
import type { Committer } from "../committer.ts";
import { Execution, type ExecutionHost } from "../execution.ts";
import { LaneEnds } from "../execution/lanes.ts";
import type { GroupResult, NewRun, Store } from "../store/types.ts";
import type { PublishedChunk } from "../execution-host.ts";
import type { Telemetry } from "../telemetry/index.ts";
import type { Registry, Workflow } from "../workflow.ts";
import { Claims, type NewStart } from "./claims.ts";
import { Drain } from "./drain.ts";
import { HeldRuns } from "./held.ts";
import { LeaseRenewal } from "./renewal.ts";
import type { DrainReport, FinishedRun, WorkerDeps, WorkerOptions } from "./types.ts";
import { Wakeups } from "./wakeups.ts";

export type { DrainReport, FinishedRun, WorkerOptions } from "./types.ts";

/**
 * Claims runnable runs and executes them. Wakes exactly at the next due timer (read from the store),
 * at once when this process creates work (signal), and on a slow safety poll. The parts: `claims.ts`
 * (passes over the store), `held.ts` (the runs it holds), `renewal.ts` (leases and heartbeats),
 * `wakeups.ts` (timers), `drain.ts` (serverless, within a budget).
 */
export class Worker implements ExecutionHost {
  readonly id: string;
  readonly store: Store;
  readonly committer: Committer;
  readonly clock: Clock;
  readonly registry: Registry;
  readonly maxValueBytes: number;
  readonly streamRetention: number;
  readonly telemetry: Telemetry;
  readonly lanes = new LaneEnds();
  readonly leaseMs: number;
  readonly claimBatch: number;
  readonly #deps: WorkerDeps;
  readonly #concurrency: number;
  readonly #held: HeldRuns;
  readonly #claims: Claims;
  readonly #wakeups: Wakeups;
  readonly #renewal: LeaseRenewal;
  #running = false;
  #unsubscribe: (() => void) | null = null;
  /** The drain under way, if this worker is draining (kept until its last writes committed, for its counts). */
  #drain: Drain | null = null;

  constructor(deps: WorkerDeps, opts: WorkerOptions = {}) {
    this.#deps = deps;
    this.store = deps.store;
    this.committer = deps.committer;
    this.clock = deps.clock;
    this.registry = deps.registry;
    this.maxValueBytes = deps.maxValueBytes;
    this.streamRetention = deps.streamRetention;
    this.telemetry = deps.telemetry;
    this.id = opts.id ?? `w-${randomUUID()}`;
    this.#concurrency = opts.concurrency ?? 500;
    this.leaseMs = opts.leaseMs ?? 30_000;
    this.claimBatch = Math.max(1, Math.min(16, Math.ceil(this.#concurrency / 8)));
    const running = () => this.#running;
    const onError = deps.onError;
    this.#held = new HeldRuns(
      { id: this.id, registry: deps.registry, executions: this, running, onError },
      opts.hotCacheSize ?? 1_000,
      opts.hotWindowMs ?? 60_000,
    );
    const held = this.#held;
    this.#wakeups = new Wakeups(this.clock, opts.pollMs ?? 1_000, () => this.signal());
    this.#renewal = new LeaseRenewal({
      id: this.id,
      store: this.store,
      clock: this.clock,
      registry: deps.registry,
      leaseMs: this.leaseMs,
      running,
      onError,
      leases: () => held.leases(),
      lost: (id, epoch) => held.lost(id, epoch),
    });
    this.#claims = new Claims({
      id: this.id,
      store: this.store,
      clock: this.clock,
      registry: deps.registry,
      telemetry: this.telemetry,
      leaseMs: this.leaseMs,
      claimBatch: this.claimBatch,
      running,
      onError,
      room: () => this.#room(),
      held: () => held.count,
      adopt: (run) => held.adopt(run),
      beginNew: (run) => this.#beginNew(run),
      handBack: (id, epoch) => held.handBack(id, epoch),
      claimed: (n) => {
        if (this.#drain) this.#drain.report.claimed += n;
      },
      wakeAt: (at) => this.#wakeups.arm(at),
      signal: () => this.signal(),
    });
  }

  get owner(): string {
    return this.id;
  }

  /** Runs this worker holds now, and suspended runs it keeps hot. */
  get load(): { active: number; hot: number } {
    return { active: this.#held.count, hot: this.#held.hot.size };
  }

  /** When this worker's wake-up timer is set to fire (null: none armed). */
  get wakeAt(): number | null {
    return this.#wakeups.at;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#renewal.start();
    this.#unsubscribe = this.store.onWork?.(() => this.signal()) ?? null;
    this.#wakeups.poll();
    this.signal();
  }

  /** Stops claiming, stops the runs it holds and gives them back so any worker can take them at once. */
  async stop(): Promise<void> {
    await this.#stopping();
    // A pass that was already talking to the store finishes before the store may be closed; runs its
    // claim took meanwhile, and runs still loading, are handed back before this resolves.
    while (this.#claims.ticking || this.#held.loading.size > 0) await new Promise((r) => setImmediate(r));
    await this.committer.drain();
  }

  async #stopping(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    this.#unsubscribe?.();
    this.#wakeups.stopPolling();
    this.#wakeups.clear();
    this.#renewal.stop();
    this.#held.giveUpAll("the worker is shutting down");
    await this.committer.drain();
    // A renewal in flight finishes before the worker's row goes, or it would write the row back.
    await this.#renewal.settled();
    await this.store.removeWorker(this.id).catch(() => {});
  }

  /**
   * Serverless: runs due work for at most `budgetMs` (wall time) and returns before it ends. Runs still
   * executing near the end are stopped and handed back (a step cut short counts as an attempt), so
   * every run is consistent when this returns and the next call, in any process, carries on.
   */
  async drain(budgetMs: number, graceMs = 0): Promise<DrainReport> {
    if (this.#running)
      throw new Error("drain() is for a kernel whose worker is not started; a started worker already runs due work.");
    const drain = new Drain(budgetMs, graceMs);
    this.#drain = drain;
    this.#running = true;
    this.#renewal.renew();
    try {
      await drain.run({
        clock: this.clock,
        tick: () => this.#claims.tick(),
        idle: () => this.#held.count === 0,
        wakeAt: () => this.#wakeups.at,
      });
    } finally {
      this.#running = false;
      this.#wakeups.clear();
      this.#renewal.stop();
      drain.report.handedBack += this.#held.giveUpAll("the drain's budget ran out");
      // Runs still loading are handed back too before the function may be frozen.
      await this.#held.loaded();
      await this.committer.drain();
      this.#drain = null;
    }
    return drain.done();
  }

  /** A drain is in its grace: runs stop at their next new command (ExecutionHost). */
  get yielding(): boolean {
    return this.#drain?.ending ?? false;
  }

  /** Schedules changed: look at them on the next pass. */
  schedulesChanged(): void {
    this.#claims.schedulesChanged();
    this.signal();
  }

  /** There may be new runnable work: claim on the next turn of the event loop (signals in one turn coalesce). */
  signal(): void {
    if (!this.#running) return;
    if (this.#drain) this.#drain.wake();
    else this.#claims.queue();
  }

  /** Starts a new run on this worker directly, its insert committed with its first step. Null if it cannot take it. */
  startLocal(wf: Workflow<never, unknown>, run: NewRun): Promise<GroupResult> | null {
    if (!this.#running || this.#room() <= 0 || this.registry.get(wf.name) !== wf) return null;
    const now = this.clock.now();
    run.claimedBy = { owner: this.id, leaseExpiresAt: now + this.leaseMs };
    const exec = new Execution(this, wf, {
      id: run.id,
      namespace: run.namespace,
      input: run.input,
      parentId: run.parentId,
      timeoutMs: run.timeoutMs,
      epoch: 1,
      deadlineAt: run.timeoutMs === null ? null : now + run.timeoutMs,
      traceParent: run.traceParent ?? null,
      concurrencyKey: run.concurrencyKey ?? null,
    });
    this.#held.active.set(run.id, exec);
    const inserted = exec.begin(run);
    if (!inserted) return null;
    const inserting = this.#held.inserting;
    inserting.add(run.id);
    const settled = () => inserting.delete(run.id);
    inserted.then(settled, settled);
    return inserted;
  }

  /** A run fired claimed by this worker begins with no claim and no load (ClaimHost.beginNew says why). */
  #beginNew(run: NewStart): void {
    const wf = this.registry.get(run.workflow);
    if (!wf) {
      this.#held.handBack(run.id, run.epoch);
      return;
    }
    const exec = new Execution(this, wf, run);
    this.#held.active.set(run.id, exec);
    exec.begin();
  }

  /** True while this worker executes the run (so it has not ended). */
  holds(runId: string): boolean {
    return this.#held.holds(runId);
  }

  /** Tells the execution holding `runId` here, if any, to look at its events and children again. */
  poke(runId: string): void {
    this.#held.active.get(runId)?.poke();
  }

  /** Stops the local execution of a run that was cancelled elsewhere. */
  drop(runId: string, reason: Error): void {
    this.#held.active.get(runId)?.abandon(reason);
    this.#held.hot.take(runId);
  }

  #room(): number {
    return this.#concurrency - this.#held.count;
  }

  // ---- ExecutionHost ----

  released(exec: Execution, outcome: "finished" | "suspended" | "lost"): void {
    const active = this.#held.active;
    if (active.get(exec.runId) === exec) active.delete(exec.runId);
    if (this.#drain && outcome !== "lost") this.#drain.report[outcome]++;
    if (outcome === "suspended" && this.#running) this.#held.hot.offer(exec, this.clock.now());
    // A run that ended frees a slot: claim again only if due runs were left behind for want of room
    // (new work from elsewhere signals on its own). That spares a claim and a wake-up query per run.
    if (outcome !== "finished" || this.#claims.backlog) this.signal();
  }

  published(runId: string, chunks: PublishedChunk[], lastChunk: number | undefined): void {
    this.#deps.onPublished(runId, chunks, lastChunk);
  }

  /** Started and not stopped: it claims and executes the registry's workflows. */
  get running(): boolean {
    return this.#running;
  }

  /** Whether an execution in this worker holds the run now (its stream's chunks are committed here). */
  executing(runId: string): boolean {
    return this.#held.active.has(runId);
  }

  finished(run: FinishedRun): void {
    if (run.parentId) this.poke(run.parentId);
    // Its parent may have become due in the same commit, and so may the next run of its lane. A store that
    // announces new work (Postgres' notices, which this worker hears too) says so only when one was admitted,
    // so a lane's end costs no claim pass when nothing queued behind it (an agent's turn, most of the time).
    if (run.parentId || (run.lane && !this.#unsubscribe)) this.signal();
    this.#deps.onFinished(run);
  }
}
