import { FakeClock, Kernel, type KernelOptions, type Store, type Workflow } from "../index.ts";
import type { Backend, TempStore, TestScope } from "./backend.ts";

/** A fresh, empty store of the given backend, removed when the test ends. */
export async function tempStore(t: TestScope, backend: Backend): Promise<TempStore> {
  // Kernels made in this test close before its stores do (after-hooks run in the order they were added).
  t.after(async () => {
    for (const k of kernelsOf.get(t) ?? []) await k.close();
  });
  return backend.temp(t);
}

const kernelsOf = new WeakMap<object, Kernel[]>();

/** Registers a kernel to be closed at the end of the test, before its stores. */
export function closes(t: TestScope, kernel: Kernel): Kernel {
  const list = kernelsOf.get(t) ?? [];
  list.push(kernel);
  kernelsOf.set(t, list);
  return kernel;
}

/** A kernel with a fake clock and a worker that never polls on its own: everything moves by signals and timers. No retention unless `extra` asks. */
export function fakeKernel(
  t: TestScope,
  store: Store,
  workflows: Workflow<never, unknown>[],
  extra: Partial<KernelOptions> = {},
): { kernel: Kernel; clock: FakeClock } {
  const clock = (extra.clock as FakeClock | undefined) ?? new FakeClock();
  const worker = extra.worker === false ? false : { pollMs: 3_600_000, leaseMs: 30_000, ...(extra.worker ?? {}) };
  // Retention is a timer too: on only where a test asks (a clock moved by months would otherwise delete what the test reads).
  const kernel = new Kernel({
    store,
    onError: () => {},
    logger: () => {},
    retention: false,
    ...extra,
    workflows,
    clock,
    worker,
  });
  if (worker) kernel.startWorker();
  closes(t, kernel);
  return { kernel, clock };
}

/** Waits (in real time, bounded) for async work to reach a state; fails with `what` if it never does. */
export async function until(cond: () => boolean | Promise<boolean>, what: string, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

export async function statusOf(kernel: Kernel, id: string): Promise<string | undefined> {
  return (await kernel.getRun(id))?.status;
}

/** A promise with its resolve exposed: lets a test hold a step body open. */
export function gate<T = void>(): { promise: Promise<T>; open(v: T): void } {
  let open!: (v: T) => void;
  const promise = new Promise<T>((r) => (open = r));
  return { promise, open };
}
