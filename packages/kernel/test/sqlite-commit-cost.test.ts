import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { StatementSync } from "node:sqlite";
import { test } from "node:test";
import { Kernel, openSqliteStore, workflow } from "../src/index.ts";

/**
 * The statements one SQLite commit runs, counted rather than timed (timings move with the machine's
 * load): every statement is a pass of SQLite's VM and a call across node:sqlite's binding, the CPU the
 * kernel spends per step on this store. The run's end used to look its parent and its lane up again
 * after writing it; the finish now returns them, so a run with neither ends in one statement. Runs
 * started together are inserted 32 to a statement: the runs table's triggers make SQLite journal the
 * pages each statement changes, about 40 µs a statement for one run.
 */

/** Every statement SQLite runs through node:sqlite while `fn` runs, by its SQL's first words. */
async function counting<T>(fn: (log: string[]) => Promise<T>): Promise<T> {
  const log: string[] = [];
  const proto = StatementSync.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
  const saved = { run: proto.run, get: proto.get, all: proto.all };
  for (const m of ["run", "get", "all"] as const) {
    const orig = saved[m] as (...a: unknown[]) => unknown;
    proto[m] = function (this: StatementSync, ...a: unknown[]) {
      log.push(this.sourceSQL.replace(/\s+/g, " ").trim().slice(0, 48));
      return orig.apply(this, a);
    };
  }
  try {
    return await fn(log);
  } finally {
    Object.assign(proto, saved);
  }
}

test("sqlite: a 3-step run's four commits run 3, 3, 3 and 3 statements; its end alone is one, with no parent or lane to look up", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "agentd-sqlite-cost-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const store = await openSqliteStore(join(dir, "k.db"));
  const wf = workflow("cost.seq3", async (ctx) => {
    let sum = 0;
    for (let s = 0; s < 3; s++) sum += await ctx.step(`s${s}`, () => s);
    return sum;
  });
  const kernel = new Kernel({ store, workflows: [wf] }).startWorker();
  t.after(async () => {
    await kernel.close();
    await store.close();
  });
  // Warm: the worker's first claim pass and wake-up read are not the run's.
  await new Promise((r) => setTimeout(r, 50));
  const commits: string[][] = [];
  const commit = store.commit.bind(store);
  await counting(async (log) => {
    store.commit = async (groups, now) => {
      const from = log.length;
      try {
        return await commit(groups, now);
      } finally {
        commits.push(log.slice(from));
      }
    };
    assert.equal(await (await kernel.start(wf, null)).result(), 3);
  });
  const shown = commits.map((c, i) => `commit ${i + 1}:\n  ${c.join("\n  ")}`).join("\n");
  assert.equal(commits.length, 4, shown);
  assert.deepEqual(
    commits.map((c) => c.length),
    [3, 3, 3, 3],
    shown,
  );
  const last = commits[3] as string[];
  assert.match(last[2] as string, /^UPDATE runs SET status = \?/, shown);
  assert.ok(!last.some((s) => /parent_id FROM runs|concurrency_key AS k/.test(s)), shown);
});

test("sqlite: a child's end still wakes its parent, and a lane's end admits the run queued behind it", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "agentd-sqlite-cost-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const store = await openSqliteStore(join(dir, "k.db"));
  const child = workflow("cost.child", async (ctx, n: number) => ctx.step("double", () => n * 2));
  const parent = workflow("cost.parent", async (ctx, n: number) => ctx.invoke(child, n));
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const laned = workflow(
    "cost.laned",
    async (ctx, n: number) => ctx.step("s", async () => (n === 1 ? (await gate, n) : n)),
    { concurrency: { key: () => "lane", limit: 1 } },
  );
  const kernel = new Kernel({ store, workflows: [child, parent, laned] }).startWorker();
  t.after(async () => {
    await kernel.close();
    await store.close();
  });
  assert.equal(await (await kernel.start(parent, 21)).result(), 42);
  const first = await kernel.start(laned, 1);
  const second = await kernel.start(laned, 2);
  assert.equal((await kernel.getRun(second.id))?.status, "pending", "queued behind the first");
  release();
  assert.equal(await first.result(), 1);
  assert.equal(await second.result(), 2);
});

test("sqlite: 100 runs started at once are inserted 32 to a statement; a key taken before or in the same commit still names its run", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "agentd-sqlite-cost-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const store = await openSqliteStore(join(dir, "k.db"));
  const wf = workflow("cost.one", async (ctx, i: number) => ctx.step("a", () => i + 1));
  const kernel = new Kernel({ store, workflows: [wf], worker: { concurrency: 200 } }).startWorker();
  t.after(async () => {
    await kernel.close();
    await store.close();
  });
  const before = await kernel.start(wf, 0, { key: "taken" });
  assert.equal(await before.result(), 1);
  const inserts: number[] = [];
  const commit = store.commit.bind(store);
  const handles = await counting(async (log) => {
    store.commit = async (groups, now) => {
      const from = log.length;
      try {
        return await commit(groups, now);
      } finally {
        inserts.push(log.slice(from).filter((s) => s.startsWith("INSERT INTO runs")).length);
      }
    };
    return Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        kernel.start(wf, i, i === 10 ? { key: "taken" } : i === 20 || i === 30 ? { key: "twice" } : {}),
      ),
    );
  });
  assert.deepEqual(inserts[0], 4, `statements inserting runs, by commit: ${inserts.join(", ")}`);
  assert.equal(handles[10]?.id, before.id, "a key taken before names the run that took it");
  assert.equal(handles[30]?.id, handles[20]?.id, "of two starts with one key in a commit, the first is the run");
  const results = await Promise.all(handles.map((h) => h.result()));
  assert.deepEqual(
    results,
    handles.map((_, i) => (i === 10 ? 1 : i === 30 ? 21 : i + 1)),
  );
  assert.equal(new Set(handles.map((h) => h.id)).size, 99);
});
