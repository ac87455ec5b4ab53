import type { Clock } from "../clock.ts";
import { decodeJson } from "../json.ts";
import { planSchedule } from "../schedule/plan.ts";
import type { DueSchedule } from "../schedule/types.ts";
import type { NewRun, RunRecord, Store } from "../store/types.ts";
import type { Telemetry } from "../telemetry/index.ts";
import { concurrencyOf, type Registry } from "../workflow.ts";

/**
 * Due schedules fired in one transaction. Ticks due at one instant (a thousand tenants' heartbeats on
 * the same second) are all started in the pass that finds them, not a hundred a pass behind the
 * claims and runs of the others: the stores apply a batch in a fixed number of statements.
 */
const FIRE_BATCH = 1_000;

/** A run fired claimed by this worker, as its execution starts it. */
export type NewStart = Pick<
  RunRecord,
  | "id"
  | "namespace"
  | "workflow"
  | "input"
  | "parentId"
  | "timeoutMs"
  | "epoch"
  | "deadlineAt"
  | "traceParent"
  | "concurrencyKey"
>;

/** What claiming needs from its worker. */
export interface ClaimHost {
  readonly id: string;
  readonly store: Store;
  readonly clock: Clock;
  readonly registry: Registry;
  readonly telemetry: Telemetry;
  readonly leaseMs: number;
  /** Most runs claimed at once while saturated: a claim waits until this many slots are free. */
  readonly claimBatch: number;
  running(): boolean;
  /** Free slots (may be negative). */
  room(): number;
  /** Runs taking a slot now. */
  held(): number;
  adopt(run: RunRecord): void;
  /**
   * Begins a run this worker's firing inserted claimed by it (epoch 1) with nothing loaded: no worker can have
   * written its journal, and an event sent to it since the firing committed is read when it waits (as for a
   * run started here).
   */
  beginNew(run: NewStart): void;
  handBack(runId: string, epoch: number): void;
  /** `n` runs were claimed (a drain counts them). */
  claimed(n: number): void;
  /** Wake the worker at this time (null: nothing due is known). */
  wakeAt(at: number | null): void;
  /** Look for work again (the worker decides how: a new pass, or the drain's loop). */
  signal(): void;
  onError(e: unknown, where: string): void;
}

/**
 * A worker's passes over the store: due schedule ticks become runs (this worker's own as far as it has room), runnable runs are claimed
 * as far as there is room, and the next due time is read to arm the wake-up. Passes never overlap;
 * signals during one make it go round again, and signals in one turn of the event loop coalesce.
 */
export class Claims {
  readonly #host: ClaimHost;
  #ticking = false;
  #tickQueued = false;
  #again = false;
  /** The last claim may have left due runs behind (it was full, or there was no room). */
  #backlog = true;
  /** When a schedule is next due (0: look now); a pass fires schedules only then. */
  #schedulesDueAt = 0;

  constructor(host: ClaimHost) {
    this.#host = host;
  }

  /** A pass is talking to the store now. */
  get ticking(): boolean {
    return this.#ticking;
  }

  /** Due runs may have been left behind for want of room. */
  get backlog(): boolean {
    return this.#backlog;
  }

  /** Schedules changed: look at them on the next pass. */
  schedulesChanged(): void {
    this.#schedulesDueAt = 0;
  }

  /** Makes a pass on the next turn of the event loop, or another round of the one under way. */
  queue(): void {
    if (this.#ticking) {
      this.#again = true;
      return;
    }
    if (this.#tickQueued) return;
    this.#tickQueued = true;
    setImmediate(() => {
      this.#tickQueued = false;
      if (this.#ticking) this.#again = true;
      else void this.tick();
    });
  }

  /** One pass: fire due schedules, claim while there is room and work, then arm the wake-up. */
  async tick(): Promise<void> {
    const host = this.#host;
    this.#ticking = true;
    let deferred = false;
    try {
      do {
        this.#again = false;
        // Due schedule ticks become runs (whatever this worker's load); then claim what is runnable.
        const now = host.clock.now();
        if (now >= this.#schedulesDueAt) {
          this.#schedulesDueAt = Number.POSITIVE_INFINITY;
          // Runs fired here are inserted claimed by this worker as far as it has room, and begin once the firing
          // commits: no claim round trip between a tick and its run (a thousand heartbeats a second keep up).
          const leaseExpiresAt = now + host.leaseMs;
          const mine = new Map<string, NewRun>();
          let room = host.room();
          const build = (s: DueSchedule, id: string, key: string) => {
            const run = this.#scheduledRun(s, id, key);
            // A lane's run may have to queue behind its lane: it is claimed the usual way once admitted.
            if (room > 0 && run.concurrencyKey == null) {
              room--;
              run.claimedBy = { owner: host.id, leaseExpiresAt };
              mine.set(id, run);
            }
            return run;
          };
          const plan = (s: DueSchedule) => {
            const p = planSchedule(s, now, build);
            for (const t of [...p.ticks, ...p.dequeued])
              if (t.status === "started") host.telemetry.scheduleTick(s.id, s.workflow, now - t.tickAt);
            return p;
          };
          const fired = await host.store.fireSchedules(now, FIRE_BATCH, host.registry.served(), plan);
          // Only the runs the store says it inserted claimed are this worker's (a conflicting insert is not).
          const claimed = fired.claimed.flatMap((id) => mine.get(id) ?? []);
          if (!host.running()) {
            // Stopped while the firing was in flight: its runs go straight back, as a claim's would.
            for (const r of claimed) host.handBack(r.id, 1);
            break;
          }
          for (const r of claimed)
            host.beginNew({
              ...r,
              epoch: 1,
              deadlineAt: r.timeoutMs === null ? null : now + r.timeoutMs,
              traceParent: r.traceParent ?? null,
              concurrencyKey: null,
            });
          host.claimed(claimed.length);
          if (fired.started > claimed.length) this.#again = true;
        }
        const limit = Math.min(host.room(), 256);
        // Saturated with runs waiting: claim in batches as slots free up, not one claim per finished run.
        const busy = host.held() > 0;
        if (limit <= 0 || (busy && this.#backlog && limit < host.claimBatch)) {
          this.#backlog = true;
          deferred = true;
          break;
        }
        if (!host.running()) break;
        const runs = await host.store.claim({
          owner: host.id,
          limit,
          now: host.clock.now(),
          leaseMs: host.leaseMs,
          workflows: host.registry.served(),
        });
        if (!host.running()) {
          // Stopped while the claim was in flight: what it took goes straight back.
          for (const r of runs) host.handBack(r.id, r.epoch);
          break;
        }
        for (const r of runs) host.adopt(r);
        this.#backlog = runs.length === limit;
        host.claimed(runs.length);
        if (runs.length === limit) this.#again = true;
      } while (this.#again && host.running());
      // A deferred claim comes back with the next run that ends: no wake-up to arm meanwhile.
      if (host.running() && !deferred) {
        const next = await host.store.nextWakeAt(host.registry.served(), host.id);
        this.#schedulesDueAt = next.schedules ?? Number.POSITIVE_INFINITY;
        // At capacity, a due run cannot be claimed anyway: wake for schedules only (a release signals for runs).
        const runs = host.room() > 0 ? next.runs : null;
        host.wakeAt(runs === null ? next.schedules : next.schedules === null ? runs : Math.min(runs, next.schedules));
      }
    } catch (e) {
      if (host.running()) host.onError(e, "claiming runs");
    } finally {
      this.#ticking = false;
    }
    if (this.#again) host.signal();
  }

  /** A schedule's run, made as kernel.start() makes one: the workflow's timeout, concurrency lane and version apply. */
  #scheduledRun(s: DueSchedule, id: string, key: string): NewRun {
    const wf = this.#host.registry.require(s.workflow);
    return {
      id,
      namespace: s.namespace,
      workflow: wf.name,
      key,
      input: s.input,
      parentId: null,
      parentSeq: null,
      timeoutMs: wf.timeoutMs,
      claimedBy: null,
      version: wf.version,
      traceParent: null,
      ...concurrencyOf(wf, decodeJson(s.input) as never, s.namespace),
    };
  }
}
