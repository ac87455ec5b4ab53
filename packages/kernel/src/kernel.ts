import { randomUUID } from "node:crypto";
import { type Clock, systemClock } from "./clock.ts";
import { Committer } from "./committer.ts";
import {
  CancelledError,
  IdempotencyConflictError,
  InvalidArgumentError,
  RunFailedError,
  RunNotFoundError,
} from "./errors.ts";
import { checkText } from "./commands/names.ts";
import { uuidv7 } from "./ids.ts";
import { decodeJson, encodeJson } from "./json.ts";
import {
  type JournalEntry,
  type KernelOptions,
  type RunHandle,
  type RunInfo,
  type StartOptions,
  toInfo,
} from "./kernel-types.ts";
import { Retention } from "./retention/retention.ts";
import { RunEnds } from "./run-ends.ts";
import { Schedules } from "./schedule/schedules.ts";
import { startParameters } from "./start-options.ts";
import {
  isTerminal,
  type NewRun,
  type RunFilter,
  type RunRecord,
  type SendEventResult,
  type Store,
  type WorkerRecord,
} from "./store/types.ts";
import { StreamHub } from "./stream/hub.ts";
import { type Chunk, type SubscribeOptions, subscribe } from "./stream/subscribe.ts";
import { jsonLogger, Telemetry } from "./telemetry/index.ts";
import { type DrainReport, Worker } from "./worker/worker.ts";
import { concurrencyOf, Registry, type Workflow } from "./workflow.ts";

export type { JournalEntry, KernelOptions, RunHandle, RunInfo, StartOptions } from "./kernel-types.ts";

export type EventTarget = string | { workflow: string | Workflow<never, unknown>; key: string };

/**
 * A durable-execution kernel: starts runs, delivers events, and (unless `worker: false`) executes
 * the runs of its workflows. No global state: several kernels can share a process or a store.
 */
export class Kernel {
  readonly store: Store;
  readonly clock: Clock;
  readonly registry: Registry;
  readonly worker: Worker | null;
  /** Cron schedules that start runs: create, update, pause, resume, delete, list with next fire times. */
  readonly schedules: Schedules;
  /** Deletes ended runs older than the retention policy; passes run on the worker (`retention.run()` runs one now). */
  readonly retention: Retention | null;
  readonly #committer: Committer;
  readonly #maxValueBytes: number;
  readonly #ends = new RunEnds();
  readonly #onError: (e: unknown, where: string) => void;
  readonly #hub: StreamHub;
  readonly #telemetry: Telemetry;

  constructor(opts: KernelOptions) {
    this.store = opts.store;
    this.clock = opts.clock ?? systemClock;
    this.registry = new Registry(opts.workflows ?? []);
    this.#maxValueBytes = opts.maxValueBytes ?? 1024 * 1024;
    // A notice of a run this worker executes is its own commit, whose chunks the hub was handed already.
    this.#hub = new StreamHub(this.store, (runId) => this.worker?.executing(runId) ?? false);
    const log = opts.logger ?? jsonLogger();
    this.#telemetry = new Telemetry(this.store, this.clock, log);
    this.#onError = opts.onError ?? ((e, where) => log({ level: "error", msg: `kernel: ${where}`, error: String(e) }));
    this.#committer = new Committer(this.store, this.clock, this.#onError);
    this.worker =
      opts.worker === false
        ? null
        : new Worker(
            {
              store: this.store,
              committer: this.#committer,
              clock: this.clock,
              registry: this.registry,
              maxValueBytes: this.#maxValueBytes,
              onFinished: (r) => {
                this.#ends.wake(r.id, r);
                this.#hub.ring(r.id);
              },
              onError: this.#onError,
              onPublished: (runId, chunks, lastChunk) => this.#hub.published(runId, chunks, lastChunk),
              streamRetention: opts.streamRetention ?? 10_000,
              telemetry: this.#telemetry,
            },
            opts.worker,
          );
    this.retention =
      this.worker && opts.retention !== false
        ? new Retention(this.store, this.clock, this.#telemetry, this.#onError, opts.retention)
        : null;
    this.schedules = new Schedules(this.store, this.clock, this.registry, this.#maxValueBytes, () =>
      this.worker?.schedulesChanged(),
    );
  }

  /** Starts executing runs (the worker). Idempotent. */
  startWorker(): this {
    this.worker?.start();
    this.retention?.start();
    return this;
  }

  /**
   * Serverless: runs due work (timers, events, schedules, new runs) for at most `budgetMs` and returns
   * before the budget ends, every run consistent. Call it from a cron-invoked or webhook-invoked
   * function; runs that last days advance a bit with each call. Do not start the worker as well.
   * `graceMs`: for that long before the end nothing more is claimed and runs stop at their next new
   * command, so the steps in flight then finish and are recorded instead of being cut short (and
   * paid for again by the next call); only a step longer than the grace is cut. Default 0.
   */
  async drain(options: { budgetMs: number; graceMs?: number }): Promise<DrainReport> {
    if (!this.worker) throw new InvalidArgumentError("drain() needs a kernel with a worker (omit `worker: false`).");
    const budget = options?.budgetMs;
    if (typeof budget !== "number" || !Number.isFinite(budget) || budget < 50 || budget > 900_000)
      throw new InvalidArgumentError(`drain needs budgetMs between 50 and 900000, got ${JSON.stringify(budget)}.`);
    const grace = options.graceMs ?? 0;
    if (typeof grace !== "number" || !Number.isFinite(grace) || grace < 0 || grace >= budget)
      throw new InvalidArgumentError(`drain needs graceMs from 0 to less than budgetMs, got ${JSON.stringify(grace)}.`);
    return this.worker.drain(budget, grace);
  }

  /** Stops the worker, hands its runs back, and waits for pending writes. Does not close the store. */
  async close(): Promise<void> {
    await this.retention?.stop();
    await this.worker?.stop();
    await this.#committer.drain();
    this.#ends.wakeAll();
    this.#hub.close();
    this.#telemetry.close();
  }

  /** Starts a run of `workflow` (a definition or a registered name). */
  async start<I, O>(workflow: Workflow<I, O> | string, input: I, options: StartOptions = {}): Promise<RunHandle<O>> {
    const wf = (typeof workflow === "string" ? this.registry.require(workflow) : workflow) as Workflow<never, unknown>;
    const { namespace, json, timeoutMs } = startParameters(wf, input, options, this.#maxValueBytes);
    // A key is not looked up first: the insert reports a key taken (one round trip where there were two),
    // and the run it names is read only then.
    const lane = concurrencyOf(wf, input as never, namespace);
    const run: NewRun = {
      id: uuidv7(),
      namespace,
      workflow: wf.name,
      key: options.key ?? null,
      input: json,
      parentId: null,
      parentSeq: null,
      timeoutMs,
      claimedBy: null,
      version: wf.version,
      traceParent: this.#telemetry.traceParent(),
      ...lane,
    };
    // Started on this worker if it has room, inserted claimed in the commit of its first step. A run with a
    // lane is admitted by that same commit (under the lane's lock) or inserted queued, and then the local
    // execution stops before any step body ran: the run starts when the lane admits it, like any other.
    const local = this.worker?.startLocal(this.registry.get(wf.name) ?? wf, run);
    const res = await (local ?? this.#committer.write(run.id, 0, "", { op: "insertRun", run }));
    if (!res.ok && res.reason === "conflict") {
      const existing = await this.store.getRun(res.existingRunId);
      if (existing) return this.#existing<O>(existing, json, options);
    }
    if (!res.ok && res.reason === "refused") throw res.error;
    if (!local) this.worker?.signal();
    return this.#handle<O>(run.id, true);
  }

  /** Waits for a run to end and returns its output; throws RunFailedError if it failed or was cancelled. */
  async result<O = unknown>(runId: string): Promise<O> {
    // A run this worker is executing has not ended: wait for its finish notice before reading anything.
    let wait = 250;
    for (;;) {
      if (this.worker?.holds(runId)) {
        const end = await this.#ends.wait(runId, 5_000);
        if (end?.status === "completed") return decodeJson(end.output) as O;
        if (end) throw new RunFailedError(runId, end.status, end.error?.message ?? "");
      }
      const run = await this.store.getRun(runId);
      if (!run) throw new RunNotFoundError(`with id ${runId}`);
      // A run that ends on this worker is announced with its outcome; one that ends elsewhere is seen by
      // reading again, less often the longer it takes.
      const end = isTerminal(run.status) ? run : await this.#ends.wait(runId, wait);
      if (end?.status === "completed") return decodeJson(end.output) as O;
      if (end) throw new RunFailedError(runId, end.status, end.error?.message ?? "");
      wait = Math.min(wait * 1.5, 2_000);
    }
  }

  /**
   * Delivers an event to a run, by id or by workflow + idempotency key. Buffered until the run waits
   * for it; a second delivery with the same `eventId` is ignored.
   */
  async sendEvent(
    target: EventTarget,
    name: string,
    payload?: unknown,
    options: { eventId?: string } = {},
  ): Promise<SendEventResult> {
    if (typeof name !== "string" || name.length === 0 || name.length > 200)
      throw new InvalidArgumentError(`an event needs a name of 1 to 200 characters, got ${JSON.stringify(name)}.`);
    if (
      options.eventId !== undefined &&
      (typeof options.eventId !== "string" || options.eventId.length === 0 || options.eventId.length > 512)
    )
      throw new InvalidArgumentError(
        `eventId must be a string of 1 to 512 characters, got ${JSON.stringify(options.eventId)}.`,
      );
    checkText("the event's name", name);
    if (options.eventId !== undefined) checkText("the eventId", options.eventId);
    const json = encodeJson(payload, `the payload of event "${name}"`, this.#maxValueBytes);
    const runId = await this.#resolveTarget(target);
    const res = await this.store.sendEvent(
      runId,
      { name, eventId: options.eventId ?? randomUUID(), payload: json },
      this.clock.now(),
    );
    if (res.delivered) {
      this.worker?.poke(runId);
      this.worker?.signal();
    }
    return res;
  }

  /** Cancels a run that has not ended, and its unfinished children; running steps see their signal aborted. */
  async cancel(runId: string): Promise<string[]> {
    const ids = await this.store.cancelRun(runId, this.clock.now());
    for (const id of ids) {
      this.worker?.drop(id, new CancelledError(id));
      this.#ends.wake(id);
    }
    this.worker?.signal();
    return ids;
  }

  /** Resumes a failed run from its last checkpoint: failed steps run again, completed ones do not. */
  async retry(runId: string): Promise<void> {
    await this.store.retryRun(runId, this.clock.now());
    this.worker?.signal();
  }

  async getRun(runId: string): Promise<RunInfo | null> {
    const r = await this.store.getRun(runId);
    return r ? toInfo(r) : null;
  }

  async listRuns(filter: RunFilter = {}): Promise<RunInfo[]> {
    return (await this.store.listRuns(filter)).map(toInfo);
  }

  /** The dead-letter queue: runs that ended failed, newest first. */
  async failedRuns(limit = 100): Promise<RunInfo[]> {
    return this.listRuns({ status: "failed", limit });
  }

  /**
   * A run's stream, live: the chunks its steps publish, from `from` on; it ends after the run has
   * ended. Reconnect with `from: lastOffset + 1` to resume without loss or duplicates.
   */
  subscribe<T = unknown>(runId: string, options?: SubscribeOptions): AsyncGenerator<Chunk<T>> {
    return subscribe<T>(this.store, this.#hub, runId, options);
  }

  /** Workers that renewed their heartbeat within `staleMs` (default 3 leases of 30 s), with the workflow versions they run. */
  async workers(staleMs = 90_000): Promise<WorkerRecord[]> {
    const now = this.clock.now();
    return (await this.store.listWorkers()).filter((w) => now - w.heartbeatAt <= staleMs);
  }

  /**
   * Runs that are due but that no live worker can execute: their workflow or its pinned version is
   * served by none (e.g. v1 runs after every worker moved to v2). They wait, visibly, here.
   */
  async unservedRuns(limit = 100, staleMs = 90_000): Promise<RunInfo[]> {
    const live = await this.workers(staleMs);
    const served = (r: RunRecord) =>
      live.some((w) => r.workflow in w.workflows && (r.version === null || w.workflows[r.workflow] === r.version));
    const now = this.clock.now();
    const due = (r: RunRecord) =>
      (r.status === "pending" && !r.queued) || (r.status === "suspended" && r.wakeAt !== null && r.wakeAt <= now);
    const waiting = await this.store.listRuns({ status: ["pending", "suspended"], limit: 10_000 });
    return waiting
      .filter((r) => due(r) && !served(r))
      .slice(0, limit)
      .map(toInfo);
  }

  /** A run's journal: one entry per command it issued. */
  async journal(runId: string): Promise<JournalEntry[]> {
    if (!(await this.store.getRun(runId))) throw new RunNotFoundError(`with id ${runId}`);
    return (await this.store.loadJournal(runId)).map(({ runId: _, ...e }) => ({
      ...e,
      value: decodeJson(e.value) ?? null,
    }));
  }

  async #resolveTarget(t: EventTarget): Promise<string> {
    if (typeof t === "string") return t;
    const wf = typeof t.workflow === "string" ? t.workflow : t.workflow.name;
    const run = await this.store.findRunByKey(wf, t.key);
    if (!run) throw new RunNotFoundError(`of workflow "${wf}" with key "${t.key}"`);
    return run.id;
  }

  #handle<O>(id: string, created: boolean, sameInput = true): RunHandle<O> {
    return { id, created, sameInput, result: () => this.result<O>(id) };
  }

  /** The run an idempotency key already names: returned (saying whether its input was the same), or refused. */
  #existing<O>(run: RunRecord, input: string | null, options: StartOptions): RunHandle<O> {
    const same = run.input === input;
    if (!same && options.ifInputDiffers === "refuse")
      throw new IdempotencyConflictError(run.workflow, options.key ?? "", run.id);
    return this.#handle<O>(run.id, false, same);
  }
}
