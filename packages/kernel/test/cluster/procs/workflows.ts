/**
 * The workflows the cluster tests run, shared by the worker processes (which execute them) and the
 * tests (which start runs, send events and compute what every run must return).
 *
 * Step bodies of `cluster.mixed` and `cluster.child` append to the side-effect log of the process
 * running them (one file per process life, outside the store), one line per event:
 *   B <runId> <seq> <attempt> <workerId> <pid> <ms>   the body started
 *   F <runId> <seq> <attempt> <workerId> <pid> <ms>   the body threw RetryableError on purpose
 *   E <runId> <seq> <attempt> <workerId> <pid> <ms>   the body ended and returned its value
 * Every step value names the attempt, the worker id and the pid that produced it.
 */
import { appendFileSync } from "node:fs";
import { RetryableError, type StepContext, workflow } from "../../../src/index.ts";

/** Where this process runs: set by procs/worker.ts before its kernel starts. */
export const here = { id: "client", log: "" };

/** A kill counts as a failed attempt, so the budget is generous; delays stay short. */
export const RETRY = { maxAttempts: 100, initialInterval: 10, maxInterval: 200, jitter: 0 };

export interface StepValue {
  v: number;
  /** The attempt, worker id and process that produced this value. */
  a: number;
  w: string;
  pid: number;
  /** Attempts of the values this one was computed from, as the workflow saw them. */
  from: number[];
}

export const SHAPES = ["steps", "parallel", "sleep", "event", "child", "retry"] as const;
export type Shape = (typeof SHAPES)[number];
export const shapeOf = (n: number): Shape => SHAPES[n % SHAPES.length] as Shape;

export interface MixedOutput {
  total: number;
  /** The attempt recorded in each step value, in journal order. */
  attempts: number[];
  /** The worker that produced each step value, in journal order. */
  workers: string[];
}
export interface ChildOutput {
  total: number;
  attempts: number[];
}

/** The event payload the tests send to an "event" run. */
export const eventPayload = (n: number): { k: number } => ({ k: 11 * n + 5 });

const napMs = (n: number) => 200 + ((n * 389) % 2_800);
const childNapMs = (n: number) => 100 + ((n * 211) % 1_400);
/** Attempts that fail on purpose. */
const failS1 = (n: number) => (shapeOf(n) === "retry" ? 1 + (n % 3) : 0);
const failP2 = (n: number) => n % 2;
const failRetryS2 = (n: number) => 1 + (n % 2);

/** What run n returns as `total` (its event payload known). */
export function expectedTotal(n: number): number {
  const s1 = 3 * n + 1;
  const shape = shapeOf(n);
  const parts =
    shape === "steps"
      ? [s1 + n]
      : shape === "parallel"
        ? [1, 2, 3].map((j) => s1 + j * n)
        : shape === "sleep"
          ? [s1 + 7]
          : shape === "event"
            ? [s1 + eventPayload(n).k]
            : shape === "child"
              ? [s1 + 2 * (5 * n + 2) + 1]
              : [2 * s1];
  return s1 + parts.reduce((x, y) => x + y, 0);
}

/** The journal run n must end with: [kind, name] by seq from 1. */
export function mixedJournal(n: number): [string, string][] {
  const mid: Record<Shape, [string, string][]> = {
    steps: [["step", "s2"]],
    parallel: [
      ["step", "p1"],
      ["step", "p2"],
      ["step", "p3"],
    ],
    sleep: [
      ["sleep", "nap"],
      ["step", "s2"],
    ],
    event: [
      ["event", "go"],
      ["step", "s2"],
    ],
    child: [
      ["invoke", "cluster.child"],
      ["step", "s2"],
    ],
    retry: [["step", "s2"]],
  };
  return [["step", "s1"], ...mid[shapeOf(n)], ["step", "end"]];
}
export const CHILD_JOURNAL: [string, string][] = [
  ["step", "c1"],
  ["sleep", "c-nap"],
  ["step", "c2"],
];

function line(tag: string, s: StepContext): string {
  const seq = s.idempotencyKey.slice(s.runId.length + 1);
  return `${tag} ${s.runId} ${seq} ${s.attempt} ${here.id} ${process.pid} ${Date.now()}\n`;
}

/** A logged step body: attempts up to `failUntil` throw RetryableError; bodies take 0–30 ms so kills land inside them. */
function body(failUntil: number, compute: () => { v: number; from?: number[] }, retryAfterMs?: number) {
  return async (s: StepContext): Promise<StepValue> => {
    appendFileSync(here.log, line("B", s));
    const ms = Math.floor(Math.random() * 30);
    if (ms > 3) await new Promise((r) => setTimeout(r, ms));
    if (s.attempt <= failUntil) {
      appendFileSync(here.log, line("F", s));
      throw new RetryableError(
        `attempt ${s.attempt} fails on purpose`,
        retryAfterMs === undefined ? undefined : { retryAfterMs },
      );
    }
    const { v, from = [] } = compute();
    const value = { v, a: s.attempt, w: here.id, pid: process.pid, from };
    appendFileSync(here.log, line("E", s));
    return value;
  };
}

export const child = workflow(
  "cluster.child",
  async (ctx, input: { n: number }): Promise<ChildOutput> => {
    const c1 = await ctx.step(
      "c1",
      body(input.n % 4 === 0 ? 1 : 0, () => ({ v: 5 * input.n + 2 })),
    );
    await ctx.sleep("c-nap", childNapMs(input.n));
    const c2 = await ctx.step(
      "c2",
      body(0, () => ({ v: 2 * c1.v, from: [c1.a] })),
    );
    return { total: c2.v + 1, attempts: [c1.a, c2.a] };
  },
  { retry: RETRY },
);

/** One workflow, six shapes (by n % 6): steps, parallel steps, a sleep, an event, a child run, retries. */
export const mixed = workflow(
  "cluster.mixed",
  async (ctx, input: { n: number }): Promise<MixedOutput> => {
    const n = input.n;
    const s1 = await ctx.step(
      "s1",
      body(failS1(n), () => ({ v: 3 * n + 1 })),
    );
    const after =
      (v: number, from: number[] = []) =>
      () => ({ v, from: [s1.a, ...from] });
    let parts: StepValue[];
    switch (shapeOf(n)) {
      case "steps":
        parts = [await ctx.step("s2", body(0, after(s1.v + n)))];
        break;
      case "parallel":
        parts = await Promise.all(
          [1, 2, 3].map((j) =>
            ctx.step(`p${j}`, body(j === 2 ? failP2(n) : 0, after(s1.v + j * n), j === 2 ? 15 : undefined)),
          ),
        );
        break;
      case "sleep":
        await ctx.sleep("nap", napMs(n));
        parts = [await ctx.step("s2", body(0, after(s1.v + 7)))];
        break;
      case "event": {
        const ev = await ctx.waitForEvent<{ k: number }>("go");
        parts = [await ctx.step("s2", body(0, after(s1.v + (ev?.k ?? -1_000_000))))];
        break;
      }
      case "child": {
        const c = await ctx.invoke(child, { n });
        parts = [await ctx.step("s2", body(0, after(s1.v + c.total, c.attempts)))];
        break;
      }
      case "retry":
        parts = [await ctx.step("s2", body(failRetryS2(n), after(2 * s1.v), 20))];
        break;
    }
    const end = await ctx.step(
      "end",
      body(0, () => ({ v: s1.v + parts.reduce((x, p) => x + p.v, 0), from: parts.map((p) => p.a) })),
    );
    const all = [s1, ...parts, end];
    return { total: end.v, attempts: all.map((p) => p.a), workers: all.map((p) => p.w) };
  },
  { retry: RETRY },
);

/** What a schedule starts: one step of 0.6–0.9 s (so a kill leaves one behind) that says which worker ran it. */
export const tick = workflow(
  "cluster.tick",
  async (ctx) =>
    ctx.step("work", async () => {
      await new Promise((r) => setTimeout(r, 600 + Math.floor(Math.random() * 300)));
      return { w: here.id, pid: process.pid };
    }),
  { retry: RETRY },
);

export interface FenceValue {
  by: string;
  attempt: number;
  pid: number;
  /** How long the body was held, wall clock: longer than asked when the process was paused inside it. */
  heldMs: number;
}

/**
 * The fencing test's workflow. On the worker named `holder`, the body of step "work" tells the test
 * (IPC "holding") and then blocks its event loop for `holdMs` (Atomics.wait), so that a SIGSTOP sent
 * on that message lands inside the body. After SIGCONT the body returns at once, before any timer of
 * that process runs (no lease renewal can intervene): the process then tries to record the result.
 */
export const fence = workflow(
  "cluster.fence",
  async (ctx, input: { holder: string; holdMs: number }) => {
    const work = await ctx.step("work", async (s): Promise<FenceValue> => {
      const t0 = Date.now();
      if (here.id === input.holder && process.send) {
        await new Promise<void>((resolve) =>
          process.send?.({ type: "holding", runId: s.runId, attempt: s.attempt, pid: process.pid }, () => resolve()),
        );
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, input.holdMs);
      }
      return { by: here.id, attempt: s.attempt, pid: process.pid, heldMs: Date.now() - t0 };
    });
    const after = await ctx.step("after", () => ({ by: here.id }));
    return { work, after };
  },
  { retry: RETRY },
);

export const ALL_WORKFLOWS = [mixed, child, tick, fence];
