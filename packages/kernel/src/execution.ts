import { randomUUID } from "node:crypto";
import type { Clock } from "./clock.ts";
import type { Committer } from "./committer.ts";
import { type Duration, toMs } from "./duration.ts";
import {
  CancelledError, ChildFailedError, FatalError, InvalidArgumentError, KernelError, LeaseLostError, NonDeterminismError,
  RunTimeoutError, StepFailedError, StepTimeoutError, type StoredError, toStoredError,
} from "./errors.ts";
import { decodeJson, encodeJson } from "./json.ts";
import { resolveRetry, retryDelay } from "./retry.ts";
import type { EntryKind, EntryRecord, EventRecord, GroupResult, NewRun, RunRecord, Store, WriteOp } from "./store/types.ts";
import type { StepContext, StepOptions, Workflow, WorkflowContext } from "./workflow.ts";

/** What an execution needs from the worker that runs it. */
export interface ExecutionHost {
  readonly store: Store;
  readonly committer: Committer;
  readonly clock: Clock;
  readonly owner: string;
  readonly maxValueBytes: number;
  /** The execution no longer holds its run. */
  released(exec: Execution, outcome: "finished" | "suspended" | "lost"): void;
  /** New runnable work was committed (a child run). */
  signal(): void;
  finished(run: { id: string; parentId: string | null; status: "completed" | "failed"; output: string | null; error: StoredError | null }): void;
}

type State = "running" | "suspending" | "suspended" | "finishing" | "done" | "lost";

interface Waiter {
  wakeAt: number | null;
  event?: string;
  child?: string;
  /** Completes the wait if it can; true when it did. */
  poll(now: number): boolean;
}

/** A promise that never settles: a command of a run this worker no longer holds. Fresh each time so it can be collected. */
const never = <T>(): Promise<T> => new Promise<T>(() => {});
const TERMINAL = new Set(["completed", "failed", "cancelled"]);

/**
 * One run's workflow function, executing on this worker. Commands answer from the journal while it
 * lasts (replay), then execute and append. When every pending command is blocked the run is
 * suspended: its wake-up condition is recorded and the lease released. A suspended execution can be
 * kept hot and resumed without replay if this worker claims the run again at the next epoch.
 */
export class Execution {
  readonly runId: string;
  readonly ctx: WorkflowContext;
  epoch: number;
  /** When the suspended run is due again (null: only an event or a child wakes it). */
  wakeAt: number | null = null;
  #state: State = "running";
  readonly #host: ExecutionHost;
  readonly #wf: Workflow<never, unknown>;
  readonly #run: Pick<RunRecord, "id" | "namespace" | "input" | "parentId" | "timeoutMs">;
  #deadline: number | null;
  readonly #journal: Map<number, EntryRecord>;
  #events: EventRecord[];
  readonly #consumed = new Set<number>();
  readonly #children = new Map<string, RunRecord>();
  #seq = 0;
  #inflight = 0;
  readonly #waiters = new Set<Waiter>();
  readonly #controllers = new Set<AbortController>();
  #timer: unknown = null;
  #timerAt: number | null = null;
  #checkScheduled = false;
  #watched: Promise<GroupResult> | null = null;

  constructor(
    host: ExecutionHost,
    wf: Workflow<never, unknown>,
    run: Pick<RunRecord, "id" | "namespace" | "input" | "parentId" | "timeoutMs" | "epoch" | "deadlineAt">,
    journal: EntryRecord[] = [],
    events: EventRecord[] = [],
    children: RunRecord[] = [],
  ) {
    this.#host = host;
    this.#wf = wf;
    this.#run = run;
    this.runId = run.id;
    this.epoch = run.epoch;
    this.#deadline = run.deadlineAt;
    this.#journal = new Map(journal.map((e) => [e.seq, e]));
    this.#events = events;
    for (const c of children) this.#children.set(c.id, c);
    this.ctx = {
      runId: run.id,
      workflow: wf.name,
      step: (name, fn, options) => this.#step(name, fn, options),
      sleep: (name, d) => this.#sleep(name, () => this.#host.clock.now() + toMs(d)),
      sleepUntil: (name, at) => this.#sleep(name, () => toTime(at)),
      waitForEvent: (name, options) => this.#waitForEvent(name, options?.timeout),
      invoke: (w, input, options) => this.#invoke(w, input, options?.timeout),
      now: () => this.#recorded("now", () => this.#host.clock.now()),
      uuid: () => this.#recorded("uuid", () => randomUUID()),
      random: () => this.#recorded("random", () => Math.random()),
    };
  }

  /** Loads a claimed run's journal, buffered events and awaited children, ready to replay. */
  static async load(host: ExecutionHost, wf: Workflow<never, unknown>, run: RunRecord): Promise<Execution> {
    const journal = await host.store.loadJournal(run.id);
    const events = await host.store.loadEvents(run.id);
    const waiting = journal.filter((e) => e.kind === "invoke" && e.status === "waiting" && e.ref).map((e) => e.ref as string);
    const children = waiting.length ? await host.store.getRuns(waiting) : [];
    return new Execution(host, wf, run, journal, events, children);
  }

  get state(): State {
    return this.#state;
  }

  /** Starts the workflow function. For a run started on this worker, `insert` is written in the same commit as its first step. */
  begin(insert?: NewRun): Promise<GroupResult> | undefined {
    const inserted = insert ? this.#write({ op: "insertRun", run: insert }) : undefined;
    const input = decodeJson(this.#run.input);
    Promise.resolve()
      .then(() => this.#wf.fn(this.ctx, input as never))
      .then((v) => this.#complete(v), (e) => this.#fail(e));
    this.#schedule();
    return inserted;
  }

  /** Resumes a hot (suspended, cached) execution after this worker claimed its run again. */
  resume(run: RunRecord): void {
    this.epoch = run.epoch;
    this.#deadline = run.deadlineAt;
    this.#state = "running";
    void this.#refresh();
  }

  /** Something this run may wait for happened (an event, a child finished): look again. */
  poke(): void {
    if (this.#state === "running") void this.#refresh();
  }

  /** The run was cancelled or its lease lost: stop without writing. */
  abandon(reason: Error): void {
    if (this.#state === "done" || this.#state === "lost") return;
    this.#state = "lost";
    this.#stop(reason);
    this.#host.released(this, "lost");
  }

  // ---- commands -------------------------------------------------------------------------------

  async #step<T>(name: string, fn: (s: StepContext) => Promise<T> | T, options: StepOptions = {}): Promise<T> {
    checkName("ctx.step", name);
    if (typeof fn !== "function") throw new InvalidArgumentError(`ctx.step("${name}") needs a function as its second argument.`);
    const policy = resolveRetry(options.retry, this.#wf.retry);
    const timeoutMs = options.timeout === undefined ? this.#wf.stepTimeoutMs : toMs(options.timeout);
    const at = this.#next("step", name);
    if (!at) return never();
    const [seq, entry] = at;
    if (entry?.status === "completed") return decodeJson(entry.value) as T;
    if (entry?.status === "failed") throw this.#stepFailed(entry);
    const rec = entry ? { ...entry } : this.#entry(seq, "step", name, "running");
    if (rec.status === "retrying" && rec.wakeAt !== null) await this.#until(rec.wakeAt);
    else if (rec.status === "running" && rec.attempt >= policy.maxAttempts) {
      // The worker running the last allowed attempt stopped: that attempt counts, so the budget is spent.
      return this.#failStep(rec, { name: "WorkerLost", message: `the worker stopped during attempt ${rec.attempt}` });
    }
    for (;;) {
      rec.attempt++;
      rec.status = "running";
      rec.wakeAt = null;
      this.#put(rec);
      if (!(await this.#durable())) return never();
      try {
        const value = await this.#attempt(seq, rec.attempt, fn, timeoutMs);
        rec.value = encodeJson(value, `the result of step "${name}" (run ${this.runId})`, this.#host.maxValueBytes);
        rec.status = "completed";
        rec.error = null;
        this.#put(rec);
        return value as T;
      } catch (e) {
        if (this.#state !== "running") return never();
        const code = KernelError.is(e) ? e.code : "";
        const fatal = FatalError.is(e) || code === "not_serializable" || code === "value_too_large";
        if (fatal || rec.attempt >= policy.maxAttempts) return this.#failStep(rec, toStoredError(e));
        rec.status = "retrying";
        rec.wakeAt = this.#host.clock.now() + retryDelay(policy, rec.attempt, e);
        rec.error = toStoredError(e);
        this.#put(rec);
        await this.#until(rec.wakeAt);
      }
    }
  }

  async #attempt<T>(seq: number, attempt: number, fn: (s: StepContext) => Promise<T> | T, timeoutMs: number | null): Promise<T> {
    const ac = new AbortController();
    this.#controllers.add(ac);
    const ctx: StepContext = { signal: ac.signal, idempotencyKey: `${this.runId}:${seq}`, attempt, runId: this.runId };
    const clock = this.#host.clock;
    const timer = timeoutMs === null ? null : clock.setTimer(() => ac.abort(new StepTimeoutError(this.runId, `#${seq}`, timeoutMs)), timeoutMs);
    const aborted = new Promise<never>((_, reject) => ac.signal.addEventListener("abort", () => reject(ac.signal.reason), { once: true }));
    try {
      return await this.#track(Promise.race([Promise.resolve().then(() => fn(ctx)), aborted]));
    } finally {
      if (timer !== null) clock.clearTimer(timer);
      this.#controllers.delete(ac);
    }
  }

  async #sleep(name: string, due: () => number): Promise<void> {
    checkName("ctx.sleep", name);
    const wakeAt = due();
    const at = this.#next("sleep", name);
    if (!at) return never();
    const [seq, entry] = at;
    if (entry?.status === "completed") return;
    const rec = entry ? { ...entry } : { ...this.#entry(seq, "sleep", name, "waiting"), wakeAt };
    if (!entry) this.#put(rec);
    await this.#until(rec.wakeAt as number);
    rec.status = "completed";
    this.#put(rec);
  }

  async #waitForEvent<T>(name: string, timeout: Duration | undefined): Promise<T | null> {
    checkName("ctx.waitForEvent", name);
    const timeoutMs = timeout === undefined ? null : toMs(timeout);
    const at = this.#next("event", name);
    if (!at) return never();
    const [seq, entry] = at;
    if (entry?.status === "completed") return (decodeJson(entry.value) ?? null) as T | null;
    const deadline = timeoutMs === null ? null : this.#host.clock.now() + timeoutMs;
    const rec = entry ? { ...entry } : { ...this.#entry(seq, "event", name, "waiting"), wakeAt: deadline };
    if (!entry) this.#put(rec);
    return new Promise<T | null>((resolve) => {
      this.#wait({
        wakeAt: rec.wakeAt,
        event: name,
        poll: (now) => {
          const ev = this.#events.find((e) => e.name === name && !this.#consumed.has(e.id));
          if (ev) {
            this.#consumed.add(ev.id);
            this.#write({ op: "consumeEvent", eventRowId: ev.id, seq });
            this.#put({ ...rec, status: "completed", value: ev.payload, ref: ev.eventId });
            resolve((decodeJson(ev.payload) ?? null) as T | null);
            return true;
          }
          if (rec.wakeAt !== null && now >= rec.wakeAt) {
            this.#put({ ...rec, status: "completed", value: null });
            resolve(null);
            return true;
          }
          return false;
        },
      });
    });
  }

  async #invoke<I, O>(wf: Workflow<I, O>, input: I, timeout: Duration | undefined): Promise<O> {
    if (!wf || typeof wf.name !== "string") throw new InvalidArgumentError("ctx.invoke needs a workflow defined with workflow().");
    const at = this.#next("invoke", wf.name);
    if (!at) return never();
    const [seq, entry] = at;
    if (entry?.status === "completed") return decodeJson(entry.value) as O;
    if (entry?.status === "failed") throw new ChildFailedError(entry.ref ?? "?", wf.name, "failed", entry.error?.message ?? "");
    const rec = entry ? { ...entry } : { ...this.#entry(seq, "invoke", wf.name, "waiting"), ref: randomUUID() };
    const childId = rec.ref as string;
    if (!entry) {
      const json = encodeJson(input, `the input of child workflow "${wf.name}"`, this.#host.maxValueBytes);
      const timeoutMs = timeout === undefined ? wf.timeoutMs : toMs(timeout);
      this.#write({
        op: "insertRun",
        run: { id: childId, namespace: this.#run.namespace, workflow: wf.name, key: null, input: json, parentId: this.runId, parentSeq: seq, timeoutMs, claimedBy: null },
      });
      this.#put(rec);
      void this.#durable().then((ok) => ok && this.#host.signal());
    }
    return new Promise<O>((resolve, reject) => {
      this.#wait({
        wakeAt: null,
        child: childId,
        poll: () => {
          const c = this.#children.get(childId);
          if (!c || !TERMINAL.has(c.status)) return false;
          if (c.status === "completed") {
            this.#put({ ...rec, status: "completed", value: c.output });
            resolve(decodeJson(c.output) as O);
          } else {
            const error = c.error ?? { name: "Error", message: c.status };
            this.#put({ ...rec, status: "failed", error });
            reject(new ChildFailedError(childId, wf.name, c.status, error.message));
          }
          return true;
        },
      });
    });
  }

  async #recorded<T>(kind: EntryKind, make: () => T): Promise<T> {
    const at = this.#next(kind, kind);
    if (!at) return never();
    const [seq, entry] = at;
    if (entry) return decodeJson(entry.value) as T;
    const v = make();
    this.#put({ ...this.#entry(seq, kind, kind, "completed"), value: JSON.stringify(v) });
    return v;
  }

  // ---- journal --------------------------------------------------------------------------------

  /** Takes the next command number; checks it against the journal during replay. Null: the run diverged. */
  #next(kind: EntryKind, name: string): [number, EntryRecord | undefined] | null {
    if (this.#state !== "running") return null;
    const seq = ++this.#seq;
    const entry = this.#journal.get(seq);
    if (!entry) return [seq, undefined];
    this.#journal.delete(seq);
    if (entry.kind !== kind || entry.name !== name) {
      this.#fail(new NonDeterminismError(this.runId, seq, `${entry.kind} "${entry.name}"`, `${kind} "${name}"`));
      return null;
    }
    return [seq, entry];
  }

  #entry(seq: number, kind: EntryKind, name: string, status: EntryRecord["status"]): EntryRecord {
    const now = this.#host.clock.now();
    return { runId: this.runId, seq, kind, name, status, attempt: 0, wakeAt: null, value: null, error: null, ref: null, startedAt: now, updatedAt: now };
  }

  #put(rec: EntryRecord): void {
    this.#write({ op: "putEntry", entry: { ...rec } });
  }

  #write(op: WriteOp): Promise<GroupResult> {
    const p = this.#host.committer.write(this.runId, this.epoch, this.#host.owner, op);
    if (p !== this.#watched) {
      this.#watched = p;
      p.then((r) => r.ok || r.reason === "conflict" || this.#lose(), () => this.#lose());
    }
    return p;
  }

  /** Waits until this run's writes so far are durable; false if this worker no longer holds the run. */
  async #durable(): Promise<boolean> {
    const p = this.#host.committer.durable(this.runId, this.epoch);
    if (p) {
      try {
        const r = await this.#track(p);
        if (!r.ok) return false;
      } catch {
        return false;
      }
    }
    return this.#state === "running";
  }

  #stepFailed(e: EntryRecord): StepFailedError {
    return new StepFailedError(this.runId, e.name, e.attempt, e.error?.name ?? "Error", e.error?.message ?? "");
  }

  #failStep(rec: EntryRecord, error: StoredError): never {
    rec.status = "failed";
    rec.error = error;
    rec.wakeAt = null;
    this.#put(rec);
    throw this.#stepFailed(rec);
  }

  // ---- blocking, suspension and the end of the run --------------------------------------------

  #until(at: number): Promise<void> {
    if (this.#host.clock.now() >= at) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.#wait({ wakeAt: at, poll: (now) => (now >= at ? (resolve(), true) : false) });
    });
  }

  #wait(w: Waiter): void {
    if (w.poll(this.#host.clock.now())) return;
    this.#waiters.add(w);
    this.#schedule();
  }

  #track<T>(p: Promise<T>): Promise<T> {
    this.#inflight++;
    return p.finally(() => {
      if (--this.#inflight === 0) this.#schedule();
    });
  }

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
    const now = this.#host.clock.now();
    if (this.#deadline !== null && now >= this.#deadline) {
      this.#fail(new RunTimeoutError(this.runId, this.#run.timeoutMs ?? 0));
      return;
    }
    let fired = false;
    for (const w of this.#waiters) {
      if (w.poll(now)) {
        this.#waiters.delete(w);
        fired = true;
      }
    }
    if (fired) return this.#schedule();
    if (this.#inflight > 0) return this.#arm(now);
    void this.#suspend();
  }

  /** While steps run, a local timer covers the earliest wait (a retry back-off, a short sleep, the deadline). */
  #arm(now: number): void {
    const at = this.#earliest();
    if (at === this.#timerAt) return;
    if (this.#timer !== null) this.#host.clock.clearTimer(this.#timer);
    this.#timer = null;
    this.#timerAt = at;
    if (at !== null) this.#timer = this.#host.clock.setTimer(() => ((this.#timer = null), (this.#timerAt = null), this.#schedule()), at - now);
  }

  #earliest(): number | null {
    let at = this.#deadline;
    for (const w of this.#waiters) if (w.wakeAt !== null && (at === null || w.wakeAt < at)) at = w.wakeAt;
    return at;
  }

  async #suspend(): Promise<void> {
    this.#state = "suspending";
    this.wakeAt = this.#earliest();
    const events = new Set<string>();
    const children: string[] = [];
    for (const w of this.#waiters) {
      if (w.event) events.add(w.event);
      if (w.child) children.push(w.child);
    }
    let r: GroupResult;
    try {
      r = await this.#write({ op: "suspend", wakeAt: this.wakeAt, events: [...events], children });
    } catch {
      return;
    }
    if (this.#state !== "suspending" || !r.ok) return;
    this.#state = "suspended";
    this.#clearTimer();
    this.#host.released(this, "suspended");
  }

  async #refresh(): Promise<void> {
    const ws = [...this.#waiters];
    const children = ws.filter((w) => w.child).map((w) => w.child as string);
    try {
      await this.#track(
        (async () => {
          if (ws.some((w) => w.event)) this.#events = await this.#host.store.loadEvents(this.runId);
          if (children.length) for (const c of await this.#host.store.getRuns(children)) this.#children.set(c.id, c);
        })(),
      );
    } catch (e) {
      this.abandon(e instanceof Error ? e : new Error(String(e)));
    }
    this.#schedule();
  }

  #complete(value: unknown): void {
    if (this.#state !== "running") return;
    const left = [...this.#journal.values()].sort((a, b) => a.seq - b.seq)[0];
    if (left) return this.#fail(new NonDeterminismError(this.runId, left.seq, `${left.kind} "${left.name}"`, "the end of the workflow"));
    let output: string | null;
    try {
      output = encodeJson(value, `the result of run ${this.runId}`, this.#host.maxValueBytes);
    } catch (e) {
      return this.#fail(e);
    }
    void this.#finish("completed", output, null);
  }

  #fail(e: unknown): void {
    if (this.#state !== "running" && this.#state !== "suspending") return;
    void this.#finish("failed", null, toStoredError(e));
  }

  async #finish(status: "completed" | "failed", output: string | null, error: StoredError | null): Promise<void> {
    this.#state = "finishing";
    this.#stop(new CancelledError(this.runId));
    let r: GroupResult;
    try {
      r = await this.#write({ op: "finish", status, output, error });
    } catch {
      return;
    }
    if (this.#state !== "finishing" || !r.ok) return;
    this.#state = "done";
    this.#host.finished({ id: this.runId, parentId: this.#run.parentId, status, output, error });
    this.#host.released(this, "finished");
  }

  #lose(): void {
    this.abandon(new LeaseLostError(this.runId, this.epoch));
  }

  #stop(reason: Error): void {
    for (const ac of this.#controllers) ac.abort(reason);
    this.#controllers.clear();
    this.#waiters.clear();
    this.#clearTimer();
  }

  #clearTimer(): void {
    if (this.#timer !== null) this.#host.clock.clearTimer(this.#timer);
    this.#timer = null;
    this.#timerAt = null;
  }
}

function checkName(api: string, name: unknown): void {
  if (typeof name !== "string" || name.length === 0 || name.length > 200)
    throw new InvalidArgumentError(`${api} needs a name of 1 to 200 characters as its first argument, got ${JSON.stringify(name) ?? typeof name}.`);
}

function toTime(at: Date | number): number {
  const t = at instanceof Date ? at.getTime() : at;
  if (typeof t !== "number" || !Number.isFinite(t)) throw new InvalidArgumentError(`ctx.sleepUntil needs a Date or a time in ms, got ${String(at)}.`);
  return t;
}
