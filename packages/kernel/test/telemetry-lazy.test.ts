// @opentelemetry/api is loaded only once an SDK registered with it (telemetry/index.ts): a kernel in
// a process with none runs its workflows without loading it, and an SDK registered after the kernel
// was made still gets its spans. Each case in a node process of its own (the API's state is global).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";

const KERNEL = new URL("../src/index.ts", import.meta.url).href;
const API = import.meta.resolve("@opentelemetry/api");
const SDK = import.meta.resolve("@opentelemetry/sdk-trace-base");

function inChild(body: string) {
  const script = `
    import { registerHooks } from "node:module";
    const loaded = [];
    registerHooks({ load(url, ctx, next) { loaded.push(url); return next(url, ctx); } });
    const otelLoaded = () => loaded.some((u) => u.includes("/@opentelemetry/api/"));
    const { Kernel, openSqliteStore, workflow, FakeClock } = await import(${JSON.stringify(KERNEL)});
    const flow = workflow("two", async (ctx) => (await ctx.step("a", () => 1)) + (await ctx.step("b", () => 2)));
    const kernel = new Kernel({ store: await openSqliteStore(":memory:"), workflows: [flow] });
    kernel.startWorker();
    const run = async () => (await kernel.start(flow, {})).result();
    ${body}
    await kernel.close();
  `;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split("\n").at(-1) as string);
}

test("with no SDK registered, a kernel runs its workflows without loading @opentelemetry/api", () => {
  const out = inChild(`console.log(JSON.stringify({ result: await run(), loaded: otelLoaded() }));`);
  assert.deepEqual(out, { result: 3, loaded: false });
});

test("an SDK registered after the kernel was made gets the spans of the runs that start after", () => {
  const out = inChild(`
    const before = await run();
    const { trace } = await import(${JSON.stringify(API)});
    const { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } = await import(${JSON.stringify(SDK)});
    const spans = new InMemorySpanExporter();
    trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] }));
    const after = await run();
    console.log(JSON.stringify({ before, after, names: spans.getFinishedSpans().map((s) => s.name).sort() }));
  `);
  assert.equal(out.before, 3);
  assert.equal(out.after, 3);
  assert.deepEqual(out.names, ["run two", "step a", "step b"]);
});
