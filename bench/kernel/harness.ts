import { Kernel, type Clock, type Store, type WorkerOptions, type Workflow } from "../../packages/kernel/src/index.ts";
import type { StoreFactory } from "../shared.ts";
import { STORE_KIND } from "./config.ts";

// ---- output ---------------------------------------------------------------------------------------

export const round = (x: number, digits = 3): number => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};

export function emit(metric: string, fields: Record<string, unknown>): void {
  const out: Record<string, unknown> = { bench: "kernel", store: STORE_KIND, metric };
  for (const [k, v] of Object.entries(fields)) out[k] = typeof v === "number" ? round(v) : v;
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

const t0Process = performance.now();
export function note(msg: string): void {
  process.stderr.write(`[bench ${((performance.now() - t0Process) / 1000).toFixed(1)}s] ${msg}\n`);
}

/**
 * Time spent in store calls. `syncMs` is the event loop's time inside them (for SQLite all of a call is
 * synchronous). Per-method times, `commitMs` and `maxCommitMs` are that same synchronous time for a
 * local store, and the time until the call's promise settles (the round trip) for a remote one.
 */
interface StoreTiming {
  syncMs: number;
  commits: number;
  commitMs: number;
  maxCommitMs: number;
  groups: number;
  ops: number;
  /** Calls and time per store method. */
  calls: Map<string, { n: number; ms: number }>;
}

/** Wraps a store to time its calls; the kernel sees the same store (stats included). */
function instrument(store: Store, remote: boolean): { store: Store; timing: StoreTiming } {
  const timing: StoreTiming = {
    syncMs: 0,
    commits: 0,
    commitMs: 0,
    maxCommitMs: 0,
    groups: 0,
    ops: 0,
    calls: new Map(),
  };
  const record = (name: string, d: number) => {
    let c = timing.calls.get(name);
    if (!c) timing.calls.set(name, (c = { n: 0, ms: 0 }));
    c.n++;
    c.ms += d;
    if (name === "commit") {
      timing.commitMs += d;
      timing.maxCommitMs = Math.max(timing.maxCommitMs, d);
    }
  };
  const wrapped = new Proxy(store, {
    get(target, prop) {
      const v = Reflect.get(target, prop, target) as unknown;
      if (typeof v !== "function") return v;
      const fn = v as (...args: unknown[]) => unknown;
      const name = String(prop);
      return (...args: unknown[]) => {
        const t = performance.now();
        const out = fn.apply(target, args);
        const d = performance.now() - t;
        timing.syncMs += d;
        if (name === "commit") {
          const groups = args[0] as { ops: unknown[] }[];
          timing.commits++;
          timing.groups += groups.length;
          for (const g of groups) timing.ops += g.ops.length;
        }
        if (remote && out instanceof Promise) {
          const settled = () => record(name, performance.now() - t);
          out.then(settled, settled);
        } else record(name, d);
        return out;
      };
    },
  });
  return { store: wrapped, timing };
}

/** Mean time of one call of `method` since `before` (a copy of timing.calls). */
export function perCall(
  timing: StoreTiming,
  before: Map<string, { n: number; ms: number }>,
  method: string,
): { n: number; ms: number } {
  const a = timing.calls.get(method) ?? { n: 0, ms: 0 };
  const b = before.get(method) ?? { n: 0, ms: 0 };
  const n = a.n - b.n;
  return { n, ms: n > 0 ? (a.ms - b.ms) / n : 0 };
}

export const snapshotCalls = (t: StoreTiming) => new Map([...t.calls].map(([k, v]) => [k, { ...v }]));

// ---- the kernel under test --------------------------------------------------------------------------

export const kernelErrors: string[] = [];

/** Counts an error the kernel reported through onError; prints the first few of each measurement. */
export function kernelError(label: string, where: string, e: unknown): void {
  kernelErrors.push(`${label}: ${where}: ${String(e)}`);
  const mine = kernelErrors.filter((x) => x.startsWith(`${label}:`)).length;
  const text = e instanceof Error ? e.message : String(e).split("\n")[0];
  if (mine <= 3) note(`KERNEL ERROR (${label}) ${where}: ${text}`);
  else if (mine === 4) note(`KERNEL ERROR (${label}): more errors, not shown (counted in "done")`);
}

export async function withKernel<T>(
  factory: StoreFactory,
  label: string,
  opts: { workflows: Workflow<never, unknown>[]; worker?: WorkerOptions; clock?: Clock },
  fn: (kernel: Kernel, store: Store, timing: StoreTiming) => Promise<T>,
): Promise<T> {
  const opened = await factory.open(label);
  const { store, timing } = instrument(opened.store, factory.remote);
  const kernel = new Kernel({
    store,
    workflows: opts.workflows,
    ...(opts.clock ? { clock: opts.clock } : {}),
    worker: opts.worker ?? {},
    onError: (e, where) => {
      kernelError(label, where, e);
    },
  }).startWorker();
  try {
    return await fn(kernel, store, timing);
  } finally {
    await kernel.close();
    await opened.close();
  }
}

export async function until(cond: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise<void>((r) => setImmediate(r));
  }
}
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>(
    (_, rej) => (timer = setTimeout(() => rej(new Error(`timed out waiting for ${what}`)), ms)),
  );
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

export const sleepMs = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
