import { createRequire } from "node:module";
import type * as Otel from "@opentelemetry/api";
import type { BatchObservableCallback, Context, Meter, Span, SpanStatusCode, Tracer } from "@opentelemetry/api";
import type { StoredError } from "../errors.ts";
import type { Store } from "../store/types.ts";
import { type Logger, REDACTED } from "./log.ts";

export type { LogRecord, Logger } from "./log.ts";
export { jsonLogger } from "./log.ts";

const SCOPE = "@agentd/kernel";

/** Where @opentelemetry/api 1.x keeps what an SDK registers (providers, propagator, context manager). */
const OTEL_GLOBAL = Symbol.for("opentelemetry.js.api.1");
let api: typeof Otel | undefined;

/**
 * @opentelemetry/api once something registered with it, else null. Until an SDK registers, every
 * call of the API is a no-op, so the kernel makes none and does not load it (44 modules of every
 * process's start). Checked on each use, as the API's own proxies would: an SDK registered after
 * the kernel was made still gets its spans. Loaded by require: synchronous, and the module an
 * import of the package gets (its one build, CommonJS).
 */
function otel(): typeof Otel | null {
  if (api) return api;
  if ((globalThis as Record<symbol, unknown>)[OTEL_GLOBAL] === undefined) return null;
  api = createRequire(import.meta.url)("@opentelemetry/api") as typeof Otel;
  return api;
}

const ERROR = 2 as SpanStatusCode.ERROR;
const noop = () => {};
/** What the kernel asks of a meter when the API is not loaded: instruments that record nothing. */
const NOOP_METER = {
  createHistogram: () => ({ record: noop }),
  createCounter: () => ({ add: noop }),
  createObservableGauge: () => ({}),
  addBatchObservableCallback: noop,
  removeBatchObservableCallback: noop,
} as unknown as Meter;

/**
 * Spans, metrics and logs of one kernel, through @opentelemetry/api: free when no SDK is installed,
 * exported when one is. A run's spans share one trace across processes and replays: its W3C
 * traceparent is stored with the run and every execution's span is its child.
 */
export class Telemetry {
  #tracer: Tracer | undefined;
  readonly #log: Logger;
  readonly #stepDuration;
  readonly #retries;
  readonly #runsEnded;
  readonly #scheduleLag;
  readonly #retained;

  constructor(store: Store, clock: { now(): number }, log: Logger) {
    this.#log = log;
    const otelApi = otel();
    const meter = otelApi?.metrics.getMeter(SCOPE) ?? NOOP_METER;
    this.metricsOn = otelApi !== null && meter.constructor !== otelApi.createNoopMeter().constructor;
    this.#stepDuration = meter.createHistogram("kernel.step.duration", {
      unit: "ms",
      description: "Time of one step attempt",
    });
    this.#retries = meter.createCounter("kernel.step.retries", {
      description: "Step attempts that failed and will be retried",
    });
    this.#runsEnded = meter.createCounter("kernel.runs.ended", { description: "Runs that ended, by status" });
    this.#scheduleLag = meter.createHistogram("kernel.schedule.lag", {
      unit: "ms",
      description: "Fire time minus due time of schedule ticks",
    });
    this.#retained = meter.createCounter("kernel.retention.removed", {
      description: "Ended runs (by status) and tick records retention deleted",
    });
    const runs = meter.createObservableGauge("kernel.runs", { description: "Runs by status" });
    const due = meter.createObservableGauge("kernel.queue.depth", { description: "Runs due and waiting for a worker" });
    // Only read when an SDK's metric reader collects.
    const observe: BatchObservableCallback = async (result) => {
      const c = await store.countRuns(clock.now());
      for (const [status, n] of Object.entries(c.byStatus)) result.observe(runs, n, { status });
      result.observe(due, c.due);
    };
    meter.addBatchObservableCallback(observe, [runs, due]);
    this.close = () => meter.removeBatchObservableCallback(observe, [runs, due]);
  }

  /** False when no metrics SDK is installed: per-step work is then skipped. */
  readonly metricsOn: boolean;

  /** Stops reporting this kernel's gauges. */
  readonly close: () => void;

  get log(): Logger {
    return this.#log;
  }

  /** The traceparent of the caller's active span, stored with a new run so its executions join that trace. */
  traceParent(ctx?: Context | null): string | null {
    const o = otel();
    // No context: an execution that began before the API was loaded, whose span context is invalid.
    if (!o || ctx === null) return null;
    const carrier: Record<string, string> = {};
    o.propagation.inject(ctx ?? o.context.active(), carrier);
    return carrier.traceparent ?? null;
  }

  /** A span for one execution of a run (a start, a resumption or a replay), child of the run's stored traceparent. */
  execution(info: {
    runId: string;
    workflow: string;
    epoch: number;
    traceParent: string | null;
    replayed: number;
    hot: boolean;
  }): ExecutionTelemetry {
    const o = otel();
    const tracer = this.tracer;
    if (!o || !tracer) return new ExecutionTelemetry(this, null, null, info.runId, info.workflow);
    const parent = info.traceParent
      ? o.propagation.extract(o.ROOT_CONTEXT, { traceparent: info.traceParent })
      : o.ROOT_CONTEXT;
    const span = tracer.startSpan(
      `run ${info.workflow}`,
      {
        attributes: {
          "kernel.run_id": info.runId,
          "kernel.workflow": info.workflow,
          "kernel.epoch": info.epoch,
          "kernel.replayed_entries": info.replayed,
          "kernel.resumed_hot": info.hot,
        },
      },
      parent,
    );
    return new ExecutionTelemetry(this, span, o.trace.setSpan(parent, span), info.runId, info.workflow);
  }

  scheduleTick(scheduleId: string, workflow: string, lagMs: number): void {
    this.#scheduleLag.record(lagMs, { "kernel.schedule": scheduleId, "kernel.workflow": workflow });
  }

  /** @internal What a retention pass deleted: counted, and one log line for the operator. */
  retentionPass(r: { runs: Record<string, number>; ticks: number; reclaimedPages: number; ms: number }): void {
    for (const [status, n] of Object.entries(r.runs))
      if (n > 0) this.#retained.add(n, { "kernel.kind": "run", "kernel.status": status });
    if (r.ticks > 0) this.#retained.add(r.ticks, { "kernel.kind": "tick" });
    this.#log({
      level: "info",
      msg: "retention removed old runs",
      runs: r.runs,
      ticks: r.ticks,
      reclaimedPages: r.reclaimedPages,
      ms: r.ms,
    });
  }

  /** @internal */
  recordStep(workflow: string, ms: number, outcome: "ok" | "retry" | "failed"): void {
    this.#stepDuration.record(ms, { "kernel.workflow": workflow, "kernel.outcome": outcome });
    if (outcome === "retry") this.#retries.add(1, { "kernel.workflow": workflow });
  }

  /** @internal */
  recordRunEnd(workflow: string, status: string): void {
    this.#runsEnded.add(1, { "kernel.workflow": workflow, "kernel.status": status });
  }

  /** @internal A step telemetry that only logs failures (no span, no metrics). */
  logOnly(runId: string, workflow: string, seq: number, name: string, attempt: number, secret: boolean): StepTelemetry {
    return new StepTelemetry(this, null, null, { runId, workflow, seq, name, attempt, secret });
  }

  /** @internal The kernel's tracer (the API's proxy, which follows a provider registered later), or null before the API is loaded. */
  get tracer(): Tracer | null {
    const o = otel();
    if (!o) return null;
    this.#tracer ??= o.trace.getTracer(SCOPE);
    return this.#tracer;
  }
}

export class ExecutionTelemetry {
  readonly #t: Telemetry;
  readonly #span: Span | null;
  /** Null when the API was not loaded as the execution began (no SDK): nothing to nest or propagate. */
  readonly ctx: Context | null;
  readonly #runId: string;
  readonly #workflow: string;
  #ended = false;

  constructor(t: Telemetry, span: Span | null, ctx: Context | null, runId: string, workflow: string) {
    this.#t = t;
    this.#span = span;
    this.ctx = ctx;
    this.#runId = runId;
    this.#workflow = workflow;
  }

  /** One step attempt: a child span; the body runs inside it, so spans the body makes nest under it. */
  step(seq: number, name: string, attempt: number, secret: boolean): StepTelemetry | null {
    // With neither a tracing nor a metrics SDK installed, a step costs nothing here.
    const o = otel();
    const tracer = this.#t.tracer;
    if ((!this.#span?.isRecording() && !this.#t.metricsOn) || !o || !tracer || !this.ctx)
      return this.#t.logOnly(this.#runId, this.#workflow, seq, name, attempt, secret);
    const span = tracer.startSpan(
      `step ${name}`,
      { attributes: { "kernel.run_id": this.#runId, "kernel.seq": seq, "kernel.attempt": attempt } },
      this.ctx,
    );
    return new StepTelemetry(this.#t, span, o.trace.setSpan(this.ctx, span), {
      runId: this.#runId,
      workflow: this.#workflow,
      seq,
      name,
      attempt,
      secret,
    });
  }

  /**
   * The execution stopped holding the run: it suspended, ended, continued as new, or lost the run; or,
   * started on this worker, the run was inserted queued behind its lane and runs once admitted.
   */
  end(
    outcome: "suspended" | "completed" | "failed" | "continued" | "lost" | "queued",
    error?: StoredError | null,
  ): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#span?.setAttribute("kernel.outcome", outcome);
    if (outcome === "failed") {
      this.#span?.setStatus({ code: ERROR, message: error?.message ?? "failed" });
      this.#t.log({
        level: "error",
        msg: "run failed",
        runId: this.#runId,
        workflow: this.#workflow,
        error: error?.message,
      });
    }
    if (outcome === "completed" || outcome === "failed") this.#t.recordRunEnd(this.#workflow, outcome);
    if (outcome === "completed")
      this.#t.log({ level: "info", msg: "run completed", runId: this.#runId, workflow: this.#workflow });
    this.#span?.end();
  }
}

export class StepTelemetry {
  readonly #t: Telemetry;
  readonly #span: Span | null;
  readonly #ctx: Context | null;
  readonly #info: { runId: string; workflow: string; seq: number; name: string; attempt: number; secret: boolean };
  readonly #t0: number;

  constructor(t: Telemetry, span: Span | null, ctx: Context | null, info: StepTelemetry["info"]) {
    this.#t0 = span || t.metricsOn ? performance.now() : 0;
    this.#t = t;
    this.#span = span;
    this.#ctx = ctx;
    this.#info = info;
  }

  get info() {
    return this.#info;
  }

  run<T>(fn: () => T): T {
    const o = this.#ctx ? otel() : null;
    return this.#ctx && o ? o.context.with(this.#ctx, fn) : fn();
  }

  /** The attempt ended: ok, or failed (and retried after `retryInMs`, or not). */
  end(error?: StoredError, retryInMs?: number): void {
    const outcome = !error ? "ok" : retryInMs !== undefined ? "retry" : "failed";
    if (this.#t.metricsOn) this.#t.recordStep(this.#info.workflow, performance.now() - this.#t0, outcome);
    if (error) {
      const message = this.#info.secret ? REDACTED : error.message;
      this.#span?.setStatus({ code: ERROR, message });
      this.#span?.setAttribute("kernel.error", `${error.name}: ${message}`);
      const { runId, workflow, seq, name, attempt } = this.#info;
      this.#t.log({
        level: outcome === "retry" ? "warn" : "error",
        msg: outcome === "retry" ? "step failed, will retry" : "step failed",
        runId,
        workflow,
        seq,
        step: name,
        attempt,
        error: `${error.name}: ${message}`,
        ...(retryInMs !== undefined ? { retryInMs } : {}),
      });
    }
    this.#span?.end();
  }
}
