/**
 * The workflows the crash test runs, shared by the child worker (which executes them) and the test
 * (which starts runs, sends events and computes what every run must return).
 *
 * Every step body appends to a side-effect log kept outside the store, one line per event:
 *   B <runId> <seq> <attempt>   the body started
 *   F <runId> <seq> <attempt>   the body threw RetryableError on purpose (an early attempt)
 *   E <runId> <seq> <attempt>   the body ended and returned its value
 * The test appends "KILL <n>" after it has seen the n-th child die.
 */
import { appendFileSync } from "node:fs";
import { RetryableError, type StepContext, workflow } from "../../src/index.ts";

/** A crash counts as a failed attempt, so the budget is generous; delays stay short. */
export const RETRY = { maxAttempts: 100, initialInterval: 10, maxInterval: 200, jitter: 0 };

export interface StepValue {
  v: number;
  /** The attempt that produced this value. */
  a: number;
  /** Attempts of the values this one was computed from, as the workflow saw them. */
  from?: number[];
}

export interface ChildOutput {
  total: number;
  attempts: number[];
}

export interface MainOutput {
  total: number;
  /** The attempt recorded in each step's value, in journal order: s1, p1, p2, p3, s5, s6. */
  attempts: number[];
  child: number[];
  random: number;
}

/** The event payload the test sends to main run n. */
export const eventPayload = (n: number): { k: number } => ({ k: n * 7 + 3 });

/** What main run n must return as `total`, given its event payload. */
export function expectedTotal(n: number): number {
  const s1 = 3 * n + 1;
  const ps = [1, 2, 3].map((j) => s1 + j * n);
  const childTotal = 2 * (5 * n + 2) + 1;
  const s5 = ps.reduce((x, y) => x + y, 0) + eventPayload(n).k + childTotal;
  return s5 + n;
}

/** Sleeps spread the runs' work over the whole kill loop, so that kills keep landing on busy workers. */
const napMs = (n: number) => 100 + ((n * 389) % 5_000);
const childNapMs = (n: number) => 100 + ((n * 211) % 3_000);
const lastNapMs = (n: number) => 50 + ((n * 97) % 2_000);

/** Retryable failures on purpose: attempts up to `failUntil` throw. */
function body(log: string, failUntil: number, compute: () => Omit<StepValue, "a">, retryAfterMs?: number) {
  return async (s: StepContext): Promise<StepValue> => {
    const seq = s.idempotencyKey.slice(s.runId.length + 1);
    const id = `${s.runId} ${seq} ${s.attempt}`;
    appendFileSync(log, `B ${id}\n`);
    // Some bodies take a while, so that kills land in the middle of them.
    const ms = Math.floor(Math.random() * 60);
    if (ms > 5) await new Promise((r) => setTimeout(r, ms));
    if (s.attempt <= failUntil) {
      appendFileSync(log, `F ${id}\n`);
      throw new RetryableError(
        `attempt ${s.attempt} fails on purpose`,
        retryAfterMs === undefined ? undefined : { retryAfterMs },
      );
    }
    const value = { ...compute(), a: s.attempt };
    appendFileSync(log, `E ${id}\n`);
    return value;
  };
}

export function crashWorkflows(log: string) {
  const child = workflow(
    "crash.child",
    async (ctx, input: { n: number }): Promise<ChildOutput> => {
      const c1 = await ctx.step(
        "c1",
        body(log, input.n % 4 === 0 ? 1 : 0, () => ({ v: 5 * input.n + 2 })),
      );
      await ctx.sleep("c-nap", childNapMs(input.n));
      const c2 = await ctx.step(
        "c2",
        body(log, 0, () => ({ v: 2 * c1.v, from: [c1.a] })),
      );
      return { total: c2.v + 1, attempts: [c1.a, c2.a] };
    },
    { retry: RETRY },
  );

  const main = workflow(
    "crash.main",
    async (ctx, input: { n: number }): Promise<MainOutput> => {
      const n = input.n;
      const s1 = await ctx.step(
        "s1",
        body(log, n % 3, () => ({ v: 3 * n + 1 })),
      );
      const random = await ctx.random();
      await ctx.sleep("nap", napMs(n));
      const ps = await Promise.all(
        [1, 2, 3].map((j) =>
          ctx.step(
            `p${j}`,
            body(log, j === 2 ? n % 2 : 0, () => ({ v: s1.v + j * n, from: [s1.a] }), j === 2 ? 15 : undefined),
          ),
        ),
      );
      const [ev, c] = await Promise.all([ctx.waitForEvent<{ k: number }>("go"), ctx.invoke(child, { n })]);
      const s5 = await ctx.step(
        "s5",
        body(log, 0, () => ({
          v: ps.reduce((x, p) => x + p.v, 0) + (ev?.k ?? -1_000_000) + c.total,
          from: ps.map((p) => p.a),
        })),
      );
      await ctx.sleep("nap2", lastNapMs(n));
      const s6 = await ctx.step(
        "s6",
        body(log, n % 5 === 1 ? 1 : 0, () => ({ v: s5.v + n, from: [s5.a] })),
      );
      return { total: s6.v, attempts: [s1.a, ...ps.map((p) => p.a), s5.a, s6.a], child: c.attempts, random };
    },
    { retry: RETRY },
  );

  return { main, child };
}

/** The journal each run must end with: [kind, name], by seq from 1. */
export const MAIN_JOURNAL: [string, string][] = [
  ["step", "s1"],
  ["random", "random"],
  ["sleep", "nap"],
  ["step", "p1"],
  ["step", "p2"],
  ["step", "p3"],
  ["event", "go"],
  ["invoke", "crash.child"],
  ["step", "s5"],
  ["sleep", "nap2"],
  ["step", "s6"],
];
export const CHILD_JOURNAL: [string, string][] = [
  ["step", "c1"],
  ["sleep", "c-nap"],
  ["step", "c2"],
];
