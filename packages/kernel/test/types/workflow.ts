/**
 * Type tests of the kernel's public generics, checked by `npm run typecheck` (tsc), never run: each
 * `@ts-expect-error` fails the type-check if the line it marks starts to compile, so a type loosened
 * (to `any`, `unknown`, a wider input) breaks CI. `Equal` compares types exactly (any ≠ number).
 */
import { Kernel, type RunHandle, type Store, type Workflow, type WorkflowContext, workflow } from "../../src/index.ts";

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
/** Compiles only when `T` is `true`. */
function expect<T extends true>(_?: T): void {}

interface Order {
  id: string;
  lines: { sku: string; qty: number }[];
}

// ---- workflow(): the input and output types come from the function -------------------------------

const charge = workflow("charge", async (_ctx, order: Order) => ({ charged: order.lines.length, id: order.id }));
expect<Equal<typeof charge, Workflow<Order, { charged: number; id: string }>>>();
expect<Equal<Parameters<typeof charge.fn>[1], Order>>();

// A workflow without a declared input takes unknown (anything goes in, nothing is assumed of it).
const anyInput = workflow("any-input", async () => 1);
expect<Equal<typeof anyInput, Workflow<unknown, number>>>();

// The function must return a promise: a workflow's result is awaited.
// @ts-expect-error a synchronous function is not a workflow function
workflow("sync", (_ctx, n: number) => n);

// The concurrency key receives the typed input.
workflow("laned", async (_ctx, order: Order) => order.id, { concurrency: { key: (o) => o.id, limit: 2 } });
// @ts-expect-error the key's input is the workflow's input (Order has no `session`)
workflow("laned-bad", async (_ctx, order: Order) => order.id, { concurrency: { key: (o) => o.session } });
// @ts-expect-error the key returns a string
workflow("laned-num", async (_ctx, order: Order) => order.id, { concurrency: { key: (o) => o.lines.length } });
// @ts-expect-error an option the kernel does not have is refused (not silently ignored)
workflow("typo", async () => 1, { retries: 3 });

// ---- ctx.step(): the result type is inferred from the body, sync or async -----------------------

async function steps(ctx: WorkflowContext): Promise<void> {
  const n = await ctx.step("sync", () => 41 + 1);
  expect<Equal<typeof n, number>>();
  const o = await ctx.step("async", async (s) => ({ key: s.idempotencyKey, attempt: s.attempt }));
  expect<Equal<typeof o, { key: string; attempt: number }>>();
  const v = await ctx.step("void", () => {});
  expect<Equal<typeof v, void>>();
  // An explicit type argument is checked against the body.
  // @ts-expect-error the body returns a number, not a string
  await ctx.step<string>("explicit", () => 1);

  // The step context: an abort signal, the idempotency key, publish.
  await ctx.step("ctx", (s) => {
    expect<Equal<typeof s.signal, AbortSignal>>();
    s.publish({ token: "a" });
    // @ts-expect-error the step context is read-only
    s.attempt = 2;
  });

  // Options: retry policy, attempt timeout (a duration), secret.
  await ctx.step("opts", () => 1, {
    retry: { maxAttempts: 3, initialInterval: "1s", backoffFactor: 2 },
    timeout: "30s",
    secret: true,
  });
  await ctx.step("opts-ms", () => 1, { timeout: 5_000 });
  // @ts-expect-error `secret` is a boolean
  await ctx.step("bad-secret", () => 1, { secret: "yes" });
  // @ts-expect-error a timeout is a duration (ms or "5s"), not a Date
  await ctx.step("bad-timeout", () => 1, { timeout: new Date() });
  // @ts-expect-error an unknown option is refused (a misspelt `retry` would otherwise do nothing)
  await ctx.step("typo", () => 1, { retries: 3 });
  // @ts-expect-error maxAttempts is a number
  await ctx.step("bad-retry", () => 1, { retry: { maxAttempts: "3" } });

  // The other commands.
  const ev = await ctx.waitForEvent<{ approved: boolean }>("approval", { timeout: "1h" });
  expect<Equal<typeof ev, { approved: boolean } | null>>();
  expect<Equal<Awaited<ReturnType<typeof ctx.now>>, number>>();
  expect<Equal<Awaited<ReturnType<typeof ctx.uuid>>, string>>();
  await ctx.sleep("nap", "5m");
  // @ts-expect-error a sleep needs a duration
  await ctx.sleep("nap", { minutes: 5 });

  // ctx.invoke(): the child's input is checked and its result typed.
  const child = await ctx.invoke(charge, { id: "o1", lines: [] });
  expect<Equal<typeof child, { charged: number; id: string }>>();
  // @ts-expect-error the child's input must be an Order
  await ctx.invoke(charge, { id: 1 });
}

// ---- kernel.start(): input checked against the workflow, result typed ---------------------------

async function starting(store: Store): Promise<void> {
  const kernel = new Kernel({ store, workflows: [charge, anyInput] });
  const run = await kernel.start(charge, { id: "o1", lines: [{ sku: "a", qty: 1 }] });
  expect<Equal<typeof run, RunHandle<{ charged: number; id: string }>>>();
  const out = await run.result();
  expect<Equal<typeof out, { charged: number; id: string }>>();
  // @ts-expect-error the input must be an Order
  await kernel.start(charge, { id: "o1" });
  // @ts-expect-error the input must be an Order
  await kernel.start(charge, "o1");
  // By name the kernel cannot know the types: the result is unknown unless the caller says.
  const byName = await kernel.start("charge", { id: "o1", lines: [] });
  expect<Equal<Awaited<ReturnType<typeof byName.result>>, unknown>>();
}

void steps;
void starting;
