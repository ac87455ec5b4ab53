import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { describe, test } from "node:test";
import pg from "pg";
import { FatalError, openSqliteStore, type Store, workflow } from "../src/index.ts";
import { openPostgresStore, type PostgresStore } from "../src/store/postgres/index.ts";
import { migratePostgres } from "../src/store/postgres/schema.ts";
import { migrate } from "../src/store/sqlite/schema.ts";
import { prepareQueries } from "../src/store/sqlite/statements.ts";
import { type Backend, BACKENDS, pgUrl } from "./backends.ts";
import { fakeKernel, tempStore, until } from "./helpers.ts";

/**
 * countRuns (/metrics, the telemetry gauges, /health's due count) follows what is unfinished, not every
 * run stored: ended runs are counted by triggers as they end, unfinished ones from their index.
 */

const ok = workflow("counts.ok", async (ctx, n: number) => ctx.step("one", () => n));
const bad = workflow("counts.bad", async (ctx) =>
  ctx.step("boom", () => {
    throw new FatalError("no");
  }),
);
const waits = workflow("counts.waits", async (ctx) => ctx.waitForEvent("go"));

/** Every run counted by status the slow way, underneath the store. */
async function truth(backend: Backend, store: Store, where: string): Promise<Record<string, number>> {
  const rows =
    backend.name === "postgres"
      ? await (store as PostgresStore).query<{ status: string; n: string }>(
          "SELECT status, count(*) AS n FROM runs GROUP BY status",
        )
      : (() => {
          const db = new DatabaseSync(where);
          try {
            return db.prepare("SELECT status, count(*) AS n FROM runs GROUP BY status").all() as {
              status: string;
              n: number;
            }[];
          } finally {
            db.close();
          }
        })();
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
}

/** A statement run underneath the store, as an operator's tool or a bulk load would. */
async function underneath(backend: Backend, store: Store, where: string, sql: string): Promise<void> {
  if (backend.name === "postgres") await (store as PostgresStore).query(sql);
  else {
    const db = new DatabaseSync(where);
    try {
      db.exec("PRAGMA busy_timeout = 5000");
      db.exec(sql);
    } finally {
      db.close();
    }
  }
}

for (const backend of BACKENDS) {
  describe(backend.name, { skip: backend.name === "postgres" && !pgUrl ? "no Postgres reachable" : false }, () => {
    test("countRuns matches every run counted, through ends, failures, cancels, retries, retention and bulk writes", async (t) => {
      const { store, where } = await tempStore(t, backend);
      const { kernel } = fakeKernel(t, store, [ok, bad, waits] as never[]);
      const same = async (what: string) => {
        const { byStatus } = await store.countRuns(kernel.clock.now());
        assert.deepEqual(byStatus, await truth(backend, store, where), what);
      };
      await same("empty store");
      const done = await Promise.all(Array.from({ length: 20 }, (_, i) => kernel.start(ok, i)));
      for (const h of done) await h.result();
      const failed = await Promise.all(Array.from({ length: 3 }, () => kernel.start(bad, null)));
      for (const h of failed) await assert.rejects(h.result());
      const waiting = await Promise.all(Array.from({ length: 4 }, () => kernel.start(waits, null)));
      await until(
        async () => (await store.countRuns(kernel.clock.now())).byStatus.suspended === 4,
        "four runs suspended",
      );
      await same("completed, failed, suspended");
      assert.deepEqual((await store.countRuns(kernel.clock.now())).byStatus, {
        completed: 20,
        failed: 3,
        suspended: 4,
      });

      await kernel.cancel((waiting[0] as { id: string }).id);
      await kernel.sendEvent((waiting[1] as { id: string }).id, "go", 1);
      await (waiting[1] as { result(): Promise<unknown> }).result();
      await same("one cancelled, one more completed");
      // A failed run retried leaves "failed" (and completes again: the FatalError fails it again here).
      await kernel.retry((failed[0] as { id: string }).id);
      await until(async () => (await kernel.getRun((failed[0] as { id: string }).id))?.status === "failed", "retried");
      await same("after a retry");

      const removed = await store.deleteEndedRuns({
        status: "completed",
        endedBefore: kernel.clock.now() + 1,
        limit: 5,
        workflow: null,
        namespace: null,
        exceptWorkflows: [],
        exceptNamespaces: [],
      });
      assert.equal(removed, 5);
      await same("five completed runs deleted by retention");
      // Statements the kernel never makes are counted too: the triggers see every change of a row.
      await underneath(backend, store, where, "UPDATE runs SET status = 'cancelled' WHERE status = 'failed'");
      await underneath(
        backend,
        store,
        where,
        `INSERT INTO runs (id, namespace, workflow, status, created_at, updated_at, completed_at)
         SELECT 'bulk-' || x, 'default', 'counts.ok', 'completed', 1, 1, 1 FROM (SELECT 1 AS x UNION ALL SELECT 2) s`,
      );
      await same("after statements run underneath the store");
      assert.equal((await store.countRuns(kernel.clock.now())).byStatus.completed, 20 + 1 - 5 + 2);
      await underneath(backend, store, where, "DELETE FROM runs WHERE status = 'cancelled'");
      await same("after a bulk delete");
      assert.equal((await store.countRuns(kernel.clock.now())).byStatus.cancelled, undefined);
    });
  });
}

test("sqlite: runs stored before the counters are counted; the count by status reads no ended run", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "agentd-counts-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, "k.db");
  const db = new DatabaseSync(path);
  migrate(db, path, 5);
  const insert = db.prepare(`INSERT INTO runs (id, namespace, workflow, status, created_at, updated_at)
    VALUES (?, 'default', 'w', ?, 1, 1)`);
  db.exec("BEGIN");
  for (let i = 0; i < 30_000; i++) insert.run(`old-${i}`, i % 100 === 0 ? "failed" : "completed");
  for (let i = 0; i < 7; i++) insert.run(`live-${i}`, i < 3 ? "pending" : "running");
  db.exec("COMMIT");
  db.close();
  const store = await openSqliteStore(path);
  t.after(() => store.close());
  assert.deepEqual((await store.countRuns(0)).byStatus, { completed: 29_700, failed: 300, pending: 3, running: 4 });

  const raw = new DatabaseSync(path);
  t.after(() => raw.close());
  const plan = (
    raw.prepare(`EXPLAIN QUERY PLAN ${prepareQueries(raw).countByStatus?.sourceSQL}`).all() as { detail: string }[]
  ).map((p) => p.detail);
  assert.deepEqual(
    plan.filter((d) => /^SCAN runs/.test(d)),
    [],
    `no scan of every run: ${plan.join(" | ")}`,
  );
  assert.ok(
    plan.some((d) => /SEARCH runs USING COVERING INDEX runs_status \(status=\?\)/.test(d)),
    plan.join(" | "),
  );
});

describe("postgres counters", { skip: pgUrl ? false : "no Postgres reachable" }, () => {
  const url = pgUrl as string;
  const schema = () => `t_counts_${randomBytes(4).toString("hex")}`;
  const cleanup = (t: { after(fn: () => unknown): void }, s: string) =>
    t.after(async () => {
      const c = new pg.Client(url);
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
      await c.end();
    });

  test("runs stored before the counters are counted; counting reads the unfinished runs only", async (t) => {
    const s = schema();
    cleanup(t, s);
    const c = new pg.Client({ connectionString: url, options: `-c search_path=${s}` });
    await c.connect();
    t.after(() => c.end());
    await c.query(`CREATE SCHEMA ${s}`);
    await migratePostgres(c, s, 7);
    await c.query(`INSERT INTO runs (id, namespace, workflow, status, created_at, updated_at)
      SELECT 'old-' || g, 'default', 'w', CASE WHEN g % 100 = 0 THEN 'failed' ELSE 'completed' END, g, g FROM generate_series(1, 30000) g`);
    await c.query(`INSERT INTO runs (id, namespace, workflow, status, wake_at, created_at, updated_at)
      SELECT 'live-' || g, 'default', 'w', CASE WHEN g <= 3 THEN 'pending' ELSE 'running' END, 0, g, g FROM generate_series(1, 7) g`);
    const store = await openPostgresStore({ url, schema: s, poolSize: 2 });
    t.after(() => store.close());
    assert.deepEqual(await store.countRuns(1), {
      byStatus: { completed: 29_700, failed: 300, pending: 3, running: 4 },
      due: 3,
    });

    // Rows read from runs by the count, as the server ran it: the 7 unfinished and the 3 due (and their index entries), never the 30,000 ended.
    for (const stats of ["none", "analyzed"]) {
      if (stats === "analyzed") await c.query("ANALYZE");
      const { COUNTS } = await import("../src/store/postgres/run-counts.ts");
      const { rows } = await c.query<{ "QUERY PLAN": { Plan: PlanNode }[] }>(
        `EXPLAIN (ANALYZE, FORMAT JSON) ${COUNTS}`,
        [1],
      );
      const read = rowsRead(rows[0]?.["QUERY PLAN"][0]?.Plan as PlanNode);
      assert.ok(read <= 20, `statistics ${stats}: read ${read} rows of runs (${JSON.stringify(rows[0])})`);
    }
  });

  test("runs ended on other connections are folded into the counters on reading; a transaction still open neither blocks counting nor is counted before it commits", async (t) => {
    const s = schema();
    cleanup(t, s);
    const store = await openPostgresStore({ url, schema: s, poolSize: 2 });
    t.after(() => store.close());
    await store.query(`INSERT INTO runs (id, namespace, workflow, status, created_at, updated_at)
      SELECT 'r-' || g, 'default', 'w', 'running', g, g FROM generate_series(1, 40) g`);
    // Ten connections each end two runs, and go away.
    for (let i = 0; i < 10; i++) {
      const c = new pg.Client({ connectionString: url, options: `-c search_path=${s}` });
      await c.connect();
      await c.query(`UPDATE runs SET status = 'completed' WHERE id IN ('r-${i * 2 + 1}', 'r-${i * 2 + 2}')`);
      await c.end();
    }
    const deltas = async () =>
      Number((await store.query<{ n: string }>("SELECT count(*) AS n FROM run_count_deltas"))[0]?.n);
    assert.equal(await deltas(), 20, "one delta row per run ended, appended");
    // One more ends a run in a transaction it keeps open.
    const held = new pg.Client({ connectionString: url, options: `-c search_path=${s}` });
    await held.connect();
    t.after(() => held.end().catch(() => {}));
    await held.query("BEGIN");
    await held.query("UPDATE runs SET status = 'failed' WHERE id = 'r-40'");
    const counted = await Promise.race([
      store.countRuns(0),
      new Promise((_, reject) => setTimeout(() => reject(new Error("countRuns waited for a transaction")), 10_000)),
    ]);
    assert.deepEqual(counted, { byStatus: { completed: 20, running: 20 }, due: 0 });
    assert.equal(await deltas(), 0, "the committed deltas were folded");
    await held.query("COMMIT");
    await held.end();
    assert.deepEqual((await store.countRuns(0)).byStatus, { completed: 20, failed: 1, running: 19 });
    const rows = await store.query<{ status: string; n: string }>("SELECT status, n FROM run_counts ORDER BY status");
    assert.deepEqual(
      rows.map((r) => [r.status, Number(r.n)]),
      [
        ["cancelled", 0],
        ["completed", 20],
        ["failed", 1],
      ],
    );
    // A worker's heartbeat folds too, so deltas stay few between reads of the counts.
    await store.query("UPDATE runs SET status = 'cancelled' WHERE id = 'r-39'");
    assert.equal(await deltas(), 1);
    await store.heartbeat({ id: "w-1", workflows: {}, startedAt: 0, heartbeatAt: 0 });
    assert.equal(await deltas(), 0);
  });

  test("counts stay exact under concurrent commits on many connections (kernel, 200 runs, 10 connections)", async (t) => {
    const s = schema();
    cleanup(t, s);
    const store = await openPostgresStore({ url, schema: s, poolSize: 10 });
    const { kernel } = fakeKernel(t, store, [ok, bad] as never[], { worker: { pollMs: 3_600_000, concurrency: 64 } });
    t.after(() => store.close());
    const started = await Promise.all(
      Array.from({ length: 200 }, (_, i) => (i % 10 === 0 ? kernel.start(bad, null) : kernel.start(ok, i))),
    );
    await Promise.allSettled(started.map((h) => h.result()));
    const { byStatus } = await store.countRuns(0);
    assert.deepEqual(byStatus, { completed: 180, failed: 20 });
    assert.deepEqual(byStatus, await truth(BACKENDS.find((b) => b.name === "postgres") as Backend, store, ""));
  });
});

interface PlanNode {
  "Node Type": string;
  "Relation Name"?: string;
  "Index Name"?: string;
  "Actual Rows"?: number;
  "Actual Loops"?: number;
  "Rows Removed by Filter"?: number;
  "Rows Removed by Index Recheck"?: number;
  Plans?: PlanNode[];
}

/** Rows the scans of `runs` in a plan read: those they returned and those their filters removed. */
function rowsRead(node: PlanNode): number {
  const own =
    node["Relation Name"] === "runs" && /Scan/.test(node["Node Type"])
      ? ((node["Actual Rows"] ?? 0) +
          (node["Rows Removed by Filter"] ?? 0) +
          (node["Rows Removed by Index Recheck"] ?? 0)) *
        (node["Actual Loops"] ?? 1)
      : 0;
  return own + (node.Plans ?? []).reduce((n, p) => n + rowsRead(p), 0);
}
