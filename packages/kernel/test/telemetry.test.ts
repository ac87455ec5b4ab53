import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { context, metrics, propagation, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from "@opentelemetry/sdk-metrics";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { FakeClock, Kernel, type LogRecord, workflow } from "../src/index.ts";
import { BACKENDS } from "./backends.ts";
import { closes, statusOf, tempStore, until } from "./helpers.ts";

// The SDK is installed once for this file (its own process): spans to memory, metrics to a reader we flush.
const spans = new InMemorySpanExporter();
trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] }));
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
propagation.setGlobalPropagator(new W3CTraceContextPropagator());
const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
const reader = new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 3_600_000 });
metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));

const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId;

async function metricValues(): Promise<Map<string, { attributes: Record<string, unknown>; value: unknown }[]>> {
  await reader.forceFlush();
  const out = new Map<string, { attributes: Record<string, unknown>; value: unknown }[]>();
  for (const rm of metricExporter.getMetrics())
    for (const sm of rm.scopeMetrics)
      for (const m of sm.metrics)
        out.set(
          m.descriptor.name,
          m.dataPoints.map((d) => ({ attributes: d.attributes, value: d.value })),
        );
  return out;
}

for (const backend of BACKENDS)
  describe(backend.name, () => {
    test("every run execution and step is a span; a run's executions share the trace of the span that started it, across a replay", async (t) => {
      spans.reset();
      const { store, open } = await tempStore(t, backend);
      const flow = workflow("traced", async (ctx) => {
        await ctx.step("before", () => 1);
        await ctx.sleep("nap", "1h");
        return ctx.step("after", () => trace.getActiveSpan()?.spanContext().spanId ?? "none");
      });
      const clock = new FakeClock();
      const k1 = new Kernel({
        store,
        workflows: [flow],
        clock,
        worker: { pollMs: 3_600_000 },
        onError: () => {},
      }).startWorker();
      const tracer = trace.getTracer("test");
      const root = tracer.startSpan("http request");
      const run = await context.with(trace.setSpan(context.active(), root), () => k1.start(flow, null));
      root.end();
      await until(async () => (await statusOf(k1, run.id)) === "suspended", "the sleep");
      // The first execution's span ends just after its suspension is stored: closing before would lose it.
      await until(
        () =>
          spans.getFinishedSpans().some((s) => s.name === "run traced" && s.attributes["kernel.outcome"] !== undefined),
        "the first execution's span to end",
      );
      await k1.close();
      const k2 = closes(
        t,
        new Kernel({
          store: await open(),
          workflows: [flow],
          clock,
          worker: { pollMs: 3_600_000 },
          onError: () => {},
        }).startWorker(),
      );
      await clock.advance(3_600_000);
      const activeInStep = (await k2.result(run.id)) as string;
      const mine = spans.getFinishedSpans().filter((s) => s.spanContext().traceId === root.spanContext().traceId);
      const runs = mine.filter((s) => s.name === "run traced");
      assert.equal(runs.length, 2, "one span per execution: the first, and the replay after the sleep");
      assert.ok(
        runs.every((s) => parentOf(s) === root.spanContext().spanId),
        "both are children of the span that started the run",
      );
      assert.deepEqual(
        runs.map((s) => s.attributes["kernel.replayed_entries"]),
        [0, 2],
      );
      assert.deepEqual(
        runs.map((s) => s.attributes["kernel.outcome"]),
        ["suspended", "completed"],
      );
      const steps = mine.filter((s) => s.name.startsWith("step "));
      assert.deepEqual(
        steps.map((s) => s.name),
        ["step before", "step after"],
        "a replayed step makes no span: it did no work",
      );
      assert.equal(parentOf(steps[0]!), runs[0]!.spanContext().spanId);
      assert.equal(parentOf(steps[1]!), runs[1]!.spanContext().spanId);
      assert.equal(activeInStep, steps[1]!.spanContext().spanId, "a step body runs inside its span");
    });

    test("metrics: step latency, retries, runs by state, queue depth and schedule lag", async (t) => {
      const { store } = await tempStore(t, backend);
      const clock = new FakeClock(Date.UTC(2026, 0, 1));
      const flaky = workflow(`flaky-${backend.name}`, async (ctx) =>
        ctx.step(
          "try",
          ({ attempt }) => {
            if (attempt < 3) throw new Error("not yet");
            return attempt;
          },
          { retry: { maxAttempts: 3, initialInterval: 0 } },
        ),
      );
      const k = closes(
        t,
        new Kernel({
          store,
          workflows: [flaky],
          clock,
          logger: () => {},
          worker: { pollMs: 3_600_000 },
          onError: () => {},
        }).startWorker(),
      );
      assert.equal(await (await k.start(flaky, null)).result(), 3);
      await k.schedules.create({ id: "m", workflow: flaky.name, cron: "* * * * *" });
      await until(() => k.worker?.wakeAt === Date.UTC(2026, 0, 1, 0, 1), "the schedule's timer");
      await clock.advance(60_000);
      await until(async () => (await k.listRuns({ status: "completed" })).length === 2, "the scheduled run");
      const all = await metricValues();
      // The meter provider is shared by every test of this file: look at this workflow's points (gauges are per store, read now).
      const mine = (name: string) =>
        (all.get(name) ?? []).filter((d) => d.attributes["kernel.workflow"] === flaky.name);
      const m = new Map(
        [...all.keys()].map((k) => [
          k,
          ["kernel.runs", "kernel.queue.depth"].includes(k) ? (all.get(k) ?? []) : mine(k),
        ]),
      );
      const durations = m.get("kernel.step.duration") ?? [];
      assert.ok(
        durations.some((d) => d.attributes["kernel.outcome"] === "retry"),
        "failed attempts are timed",
      );
      assert.ok(durations.some((d) => d.attributes["kernel.outcome"] === "ok"));
      assert.equal(m.get("kernel.step.retries")?.[0]?.value, 4, "two retries in each of the two runs");
      assert.ok(
        m.get("kernel.runs")?.some((d) => d.attributes.status === "completed" && (d.value as number) >= 2),
        JSON.stringify(m.get("kernel.runs")),
      );
      assert.ok(m.has("kernel.queue.depth"));
      const lag = m.get("kernel.schedule.lag")?.[0]?.value as { count: number; sum: number };
      assert.deepEqual([lag.count, lag.sum], [1, 0], "one tick, fired at its due time on the fake clock");
      assert.equal(m.get("kernel.runs.ended")?.[0]?.value, 2);
    });

    test("logs are JSON-ready records with run and step ids; a secret step's error never reaches logs or spans", async (t) => {
      spans.reset();
      const { store } = await tempStore(t, backend);
      const records: LogRecord[] = [];
      const leaky = workflow("leaky", async (ctx) =>
        ctx.step(
          "call-api",
          () => {
            throw new Error("401 for token sk-live-SECRET123");
          },
          { secret: true, retry: { maxAttempts: 2, initialInterval: 0 } },
        ),
      );
      const k = closes(
        t,
        new Kernel({
          store,
          workflows: [leaky],
          logger: (r) => records.push(r),
          worker: { pollMs: 3_600_000 },
          onError: () => {},
        }).startWorker(),
      );
      const run = await k.start(leaky, null);
      await assert.rejects(run.result());
      const stepLogs = records.filter((r) => r.step === "call-api");
      assert.deepEqual(
        stepLogs.map((r) => [r.level, r.msg, r.runId, r.seq, r.attempt]),
        [
          ["warn", "step failed, will retry", run.id, 1, 1],
          ["error", "step failed", run.id, 1, 2],
        ],
      );
      assert.ok(records.some((r) => r.msg === "run failed" && r.runId === run.id));
      const everything =
        JSON.stringify(records) +
        JSON.stringify(spans.getFinishedSpans().map((s) => [s.attributes, s.status, s.events]));
      assert.ok(!everything.includes("SECRET123"), "the secret is in no log line and no span");
      assert.match(everything, /\[redacted: secret step\]/);
      for (const r of records) JSON.parse(JSON.stringify(r));
    });
  });
