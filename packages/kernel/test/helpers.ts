import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FakeClock, Kernel, type KernelOptions, openSqliteStore, type SqliteStore, type Workflow } from "../src/index.ts";

/** A fresh SQLite file in a temp folder, removed when the test ends. */
export async function tempStore(t: { after(fn: () => unknown): void }, name = "kernel.db"): Promise<{ store: SqliteStore; path: string; open(): Promise<SqliteStore> }> {
  const dir = mkdtempSync(join(tmpdir(), "agentd-kernel-"));
  const path = join(dir, name);
  const opened: SqliteStore[] = [];
  const open = async () => {
    const s = await openSqliteStore(path);
    opened.push(s);
    return s;
  };
  const store = await open();
  t.after(async () => {
    for (const s of opened) await s.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { store, path, open };
}

/** A kernel with a fake clock and a worker that never polls on its own: everything moves by signals and timers. */
export function fakeKernel(
  t: { after(fn: () => unknown): void },
  store: SqliteStore,
  workflows: Workflow<never, unknown>[],
  extra: Partial<KernelOptions> = {},
): { kernel: Kernel; clock: FakeClock } {
  const clock = (extra.clock as FakeClock | undefined) ?? new FakeClock();
  const worker = extra.worker === false ? false : { pollMs: 3_600_000, leaseMs: 30_000, ...(extra.worker ?? {}) };
  const kernel = new Kernel({ store, onError: () => {}, ...extra, workflows, clock, worker });
  if (worker) kernel.startWorker();
  t.after(() => kernel.close());
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
