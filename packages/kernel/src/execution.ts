import { type CommandScope, makeContext, type Waiter } from "./commands/index.ts";
import { type Abortable, type Admission, never } from "./commands/scope.ts";
import { CancelledError, LeaseLostError, NonDeterminismError, RunTimeoutError, type StoredError } from "./errors.ts";
import { decodeJson, encodeJson } from "./json.ts";
import type { EntryKind, EntryRecord, EventRecord, GroupResult, NewRun, RunRecord, WriteOp } from "./store/types.ts";
import type { ExecutionTelemetry, StepTelemetry } from "./telemetry/index.ts";
import type { Workflow, WorkflowContext } from "./workflow.ts";
import type { ExecutionHost } from "./execution-host.ts";
import { loadRun, reread } from "./execution/reads.ts";
import { Replay } from "./execution/replay.ts";
import { Waits } from "./execution/waits.ts";
import { RunWrites } from "./execution/writes.ts";
import { endingError } from "./resume-plan.ts";

export type { ExecutionHost } from "./execution-host.ts";

type State = "running" | "suspending" | "suspended" | "finishing" | "done" | "lost";
type RunStart = Pick<
  RunRecord,
  "id" | "namespace" | "input" | "parentId" | "timeoutMs" | "epoch" | "deadlineAt" | "traceParent" | "concurrencyKey"
>;

/**
 * One run's workflow function, executing on this worker. Commands answer from the journal while it
 * lasts (replay), then execute and append. When every pending command is blocked and nothing is in
 * flight, the run is suspended: its wake-up condition is recorded and the lease released. A suspended
 * execution can be kept hot and resumed without replay if this worker claims the run at the next epoch.
 * The journal cursor is `execution/replay.ts`, what the run waits on `execution/waits.ts`, its writes
 * `execution/writes.ts`, its store reads `execution/reads.ts`.
 */
export class Execution implements CommandScope {
  readonly runId: string;
  readonly namespace: string;
  readonly host: ExecutionHost;
  readonly wf: Workflow<never, unknown>;
  readonly ctx: WorkflowContext;
  readonly consumed = new Set<number>();
  readonly children = new Map<string, RunRecord>();
  readonly controllers = new Set<Abortable>();
  events: EventRecord[];
  epoch: number;
  /** When the suspended run is due again (null: only an event or a child wakes it). */
  wakeAt: number | null = null;
  #state: State = "running";
  readonly #run: RunStart;
  #deadline: number | null;
  readonly #replay: Replay;
  readonly #waits: Waits;
  readonly #writes: RunWrites;
  #checkScheduled = false;
  #tel: ExecutionTelemetry | null = null;
  #refusal = false;
  /** It stopped at a new command because the drain was ending: it is due again at once. */
  #yielded = false;
  /** Its lane's last end as this process saw it before the run began (`admission`). */
  readonly #laneSeen: number | undefined;

  constructor(
    host: ExecutionHost,
    wf: Workflow<never, unknown>,
    run: RunStart,
    journal: EntryRecord[] = [],
    events: EventRecord[] = [],
    children: RunRecord[] = [],
  ) {
    this.host = host;
    this.wf = wf;
    this.#run = run;
    this.runId = run.id;
    this.namespace = run.namespace;
    this.epoch = run.epoch;
    this.#deadline = run.deadlineAt;
    this.#replay = new Replay(journal);
    this.#waits = new Waits(host.clock);
    this.#writes = new RunWrites(host, run.id, () => this.epoch, {
      notOurs: (outcome) => this.abandon(new LeaseLostError(this.runId, this.epoch), outcome),
      refused: (error) => this.#refused(error),
      lost: () => this.#lose(),
    });
    this.#laneSeen = run.concurrencyKey === null ? undefined : host.lanes.take(run.concurrencyKey);
    this.events = events;
    for (const c of children) this.children.set(c.id, c);
    this.ctx = makeContext(this);
  }

  /** Loads a claimed run's journal, buffered events and awaited children, ready to replay. */
  static async load(host: ExecutionHost, wf: Workflow<never, unknown>, run: RunRecord): Promise<Execution> {
    const { journal, events, children } = await loadRun(host.store, run.id);
    return new Execution(host, wf, run, journal, events, children);
  }

  get state(): State {
    return this.#state;
  }

  get live(): boolean {
    return this.#state === "running";
  }

  /** Starts the workflow function. For a run started on this worker, `insert` is written in the same commit as its first step. */
  begin(insert?: NewRun): Promise<GroupResult> | undefined {
    this.#trace(false);
    const inserted = insert ? this.#writes.insert(insert) : undefined;
    const input = decodeJson(this.#run.input);
    Promise.resolve()
      .then(() => this.wf.fn(this.ctx, input as never))
      .then(
        (v) => this.#complete(v),
        (e) => this.#fail(e),
      );
    this.#schedule();
    return inserted;
  }

  /** Resumes a hot (suspended, cached) execution after this worker claimed its run again. */
  resume(run: RunRecord): void {
    this.epoch = run.epoch;
    this.#deadline = run.deadlineAt;
    this.#state = "running";
    this.#trace(true);
    void this.#refresh();
  }

  /** Something this run may wait for happened (an event, a child finished): look again. */
  poke(): void {
    if (this.#state === "running") void this.#refresh();
  }

  /** The run was cancelled or its lease lost (or, started here, it queued behind its lane): stop without writing. */
  abandon(reason: Error, outcome: "lost" | "queued" = "lost"): void {
    if (this.#state === "done" || this.#state === "lost") return;
    this.#state = "lost";
    this.#tel?.end(outcome);
    this.#stop(reason);
    this.host.released(this, "lost");
  }

  #trace(hot: boolean): void {
    this.#tel = this.host.telemetry.execution({
      runId: this.runId,
      workflow: this.wf.name,
      epoch: this.epoch,
      traceParent: this.#run.traceParent,
      replayed: this.#replay.unvisited,
      hot,
    });
  }

  /** Telemetry of one step attempt (a span the body runs inside). */
  stepTelemetry(seq: number, name: string, attempt: number, secret: boolean): StepTelemetry | null {
    return this.#tel?.step(seq, name, attempt, secret) ?? null;
  }

  /** The traceparent a child run started now should carry: this execution's span. */
  childTraceParent(): string | null {
    return this.#tel ? this.host.telemetry.traceParent(this.#tel.ctx) : this.#run.traceParent;
  }

  // ---- CommandScope: the journal and blocking ----

  next(kind: EntryKind, name: string): [number, EntryRecord | undefined] | null {
    if (this.#state !== "running") return null;
    const next = this.#replay.next(kind, name);
    if ("mismatch" in next) {
      const entry = next.mismatch;
      this.#fail(new NonDeterminismError(this.runId, next.seq, `${entry.kind} "${entry.name}"`, `${kind} "${name}"`));
      return null;
    }
    if (!next.entry && this.host.yielding) {
      // Not started here: the run suspends once what is in flight is recorded, and the next drain replays to this command.
      this.#yielded = true;
      this.#schedule();
      return null;
    }
    // A new command: the code went on past the failures thrown into it, so kernel.retry() must not re-run those.
    if (!next.entry) for (const rec of this.#replay.handled(next.seq)) this.put(rec);
    return [next.seq, next.entry];
  }

  entry(seq: number, kind: EntryKind, name: string, status: EntryRecord["status"]): EntryRecord {
    const now = this.host.clock.now();
    return {
      runId: this.runId,
      seq,
      kind,
      name,
      status,
      attempt: 0,
      wakeAt: null,
      value: null,
      error: null,
      ref: null,
      startedAt: now,
      updatedAt: now,
    };
  }

  failed(rec: EntryRecord): void {
    this.#replay.failed(rec);
  }

  put(rec: EntryRecord): void {
    const update = this.#replay.written(rec.seq);
    this.write({ op: "putEntry", entry: { ...rec }, update });
  }

  write(op: WriteOp): Promise<GroupResult> {
    return this.#writes.write(op);
  }

  admission(): Admission | null {
    const p = this.#run.concurrencyKey === null ? null : this.#writes.inserting;
    if (!p) return null;
    // Seen from a commit before this run began: the same stamp at admission means no run of the lane
    // ended in between, so whatever was read since saw every write of the runs the lane ran before.
    const seen = this.#laneSeen;
    return {
      early: seen !== undefined,
      verdict: p.then(
        (r) => {
          if (!r.ok || this.#state !== "running") return false;
          return seen !== undefined && r.laneSeen === seen ? "fresh" : "stale";
        },
        () => false,
      ),
    };
  }

  durable(): Promise<boolean> {
    const p = this.#writes.pending();
    // No async frame: one less allocation a step (see commands/step.ts' attempt).
    if (!p) return Promise.resolve(this.#state === "running");
    return this.track(p).then(
      (r) => r.ok && this.#state === "running",
      () => false,
    );
  }

  until(at: number): Promise<void> {
    if (this.host.clock.now() >= at) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.wait({ wakeAt: at, poll: (now) => (now >= at ? (resolve(), true) : false) });
    });
  }

  wait(w: Waiter): void {
    if (w.poll(this.host.clock.now())) return;
    this.#waits.add(w);
    this.#schedule();
  }

  track<T>(p: Promise<T>): Promise<T> {
    return this.#waits.track(p, () => this.#schedule());
  }

  publish(seq: number, attempt: number, data: unknown): void {
    if (this.#state !== "running") return;
    const text = encodeJson(
      data ?? null,
      `a chunk published by step #${seq} of run ${this.runId}`,
      this.host.maxValueBytes,
    ) as string;
    this.#writes.publish(seq, attempt, text);
  }

  continueAsNew(input: unknown): Promise<never> {
    if (this.#state !== "running") return never();
    const json = encodeJson(input, `the input of run ${this.runId} continuing as new`, this.host.maxValueBytes);
    if (this.#diverged()) return never();
    this.#state = "finishing";
    this.#stop(this.controllers.size > 0 ? new CancelledError(this.runId) : undefined);
    this.write({ op: "continueAsNew", input: json }).then(
      (r) => {
        if (this.#state !== "finishing" || !r.ok) return;
        this.#state = "done";
        this.#tel?.end("continued");
        this.host.released(this, "finished");
        this.host.signal(); // the run is due again at once, as new
      },
      () => {},
    );
    return never();
  }

  // ---- suspension and the end of the run ----

  #schedule(): void {
    if (this.#checkScheduled) return;
    this.#checkScheduled = true;
    setImmediate(() => {
      this.#checkScheduled = false;
      this.#check();
    });
  }

  /** Runs once the workflow has had a chance to move: fires due waits, else suspends if nothing is in flight. */
  #check(): void {
    if (this.#state !== "running") return;
    const now = this.host.clock.now();
    if (this.#deadline !== null && now >= this.#deadline) {
      this.#fail(new RunTimeoutError(this.runId, this.#run.timeoutMs ?? 0));
      return;
    }
    if (this.#waits.fire(now)) {
      this.#schedule();
      return;
    }
    // While steps run, a local timer covers the earliest wait (a retry back-off, a short sleep, the deadline).
    if (this.#waits.inflight > 0) {
      this.#waits.arm(now, this.#deadline, () => this.#schedule());
      return;
    }
    void this.#suspend();
  }

  async #suspend(): Promise<void> {
    this.#state = "suspending";
    this.wakeAt = this.#yielded ? this.host.clock.now() : this.#waits.earliest(this.#deadline);
    const { events, children } = this.#waits.targets();
    let r: GroupResult;
    try {
      r = await this.write({ op: "suspend", wakeAt: this.wakeAt, events, children });
    } catch {
      return;
    }
    if (this.#state !== "suspending" || !r.ok) return;
    this.#state = "suspended";
    this.#waits.clearTimer();
    this.#tel?.end("suspended");
    this.host.released(this, "suspended");
  }

  async #refresh(): Promise<void> {
    try {
      const read = await this.track(reread(this.host.store, this.runId, this.#waits.targets()));
      if (read.events) this.events = read.events;
      for (const c of read.children) this.children.set(c.id, c);
    } catch (e) {
      this.abandon(e instanceof Error ? e : new Error(String(e)));
    }
    this.#schedule();
  }

  /** At the end of the workflow code, journal entries left unvisited mean the code changed: fail the run. */
  #diverged(): boolean {
    const left = this.#replay.leftover();
    if (left)
      this.#fail(
        new NonDeterminismError(this.runId, left.seq, `${left.kind} "${left.name}"`, "the end of the workflow"),
      );
    return left !== undefined;
  }

  #complete(value: unknown): void {
    if (this.#state !== "running" || this.#diverged()) return;
    let output: string | null;
    try {
      output = encodeJson(value, `the result of run ${this.runId}`, this.host.maxValueBytes);
    } catch (e) {
      this.#fail(e);
      return;
    }
    void this.#finish("completed", output, null);
  }

  #fail(e: unknown): void {
    if (this.#state !== "running" && this.#state !== "suspending") return;
    void this.#finish("failed", null, endingError(e, this.runId));
  }

  async #finish(status: "completed" | "failed", output: string | null, error: StoredError | null): Promise<void> {
    this.#state = "finishing";
    // Steps still running when the run ends (not awaited, or the run failed) are aborted.
    this.#stop(this.controllers.size > 0 ? new CancelledError(this.runId) : undefined);
    let r: GroupResult;
    try {
      r = await this.write({ op: "finish", status, output, error });
    } catch {
      return;
    }
    const lane = this.#run.concurrencyKey;
    if (r.ok && r.laneEnd !== undefined && lane !== null) this.host.lanes.saw(lane, r.laneEnd);
    if (this.#state !== "finishing" || !r.ok) return;
    this.#state = "done";
    this.#tel?.end(status, error);
    this.host.finished({
      id: this.runId,
      parentId: this.#run.parentId,
      lane: this.#run.concurrencyKey !== null,
      status,
      output,
      error,
    });
    this.host.released(this, "finished");
  }

  /** The store refused this run's writes (too large, not storable): the run fails with that reason, once. */
  #refused(error: StoredError): void {
    if (this.#refusal) {
      this.#lose(); // even the failure could not be stored: leave it to a later attempt
      return;
    }
    this.#refusal = true;
    if (this.#state === "running" || this.#state === "suspending" || this.#state === "finishing")
      void this.#finish("failed", null, error);
  }

  #lose(): void {
    this.abandon(new LeaseLostError(this.runId, this.epoch));
  }

  #stop(reason: Error | undefined): void {
    for (const ac of this.controllers) ac.abort(reason);
    this.controllers.clear();
    this.#waits.clear();
  }
}
