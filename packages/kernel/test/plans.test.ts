import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { test } from "node:test";
import pg from "pg";
import { openSqliteStore } from "../src/index.ts";
import { uuidv7 } from "../src/ids.ts";
import { openPostgresStore } from "../src/store/postgres/index.ts";
import * as retention from "../src/store/postgres/retention.ts";
import * as counts from "../src/store/postgres/run-counts.ts";
import * as sql from "../src/store/postgres/statements.ts";
import { prepareQueries } from "../src/store/sqlite/statements.ts";
import { SqliteRetention } from "../src/store/sqlite/retention.ts";
import { SqliteWrites } from "../src/store/sqlite/commit.ts";
import type { WriteGroup } from "../src/store/types.ts";
import { pgUrl } from "./backends.ts";

/**
 * Latency must not grow with the runs stored: every statement on the run path reaches its rows through
 * an index on tables far too big to scan, with planner statistics and without, and (Postgres) with the
 * plans kernel_commit cached while its tables were still empty.
 */

const STORED = 100_000;
const BIG = new Set(["runs", "entries", "events", "stream_chunks", "schedule_ticks"]);
const skip = pgUrl ? false : "no Postgres reachable";

interface PlanNode {
  "Node Type": string;
  "Relation Name"?: string;
  Plans?: PlanNode[];
}

/** "Seq Scan on runs" for every sequential scan of a big table in a plan. */
function seqScans(node: PlanNode, out: string[] = []): string[] {
  if (node["Node Type"] === "Seq Scan" && BIG.has(node["Relation Name"] ?? ""))
    out.push(`Seq Scan on ${node["Relation Name"]}`);
  for (const p of node.Plans ?? []) seqScans(p, out);
  return out;
}

const T0 = Date.UTC(2026, 0, 1);

/** One call's worth of groups touching every branch of kernel_commit; `i` makes its run ids fresh. */
function commitGroups(i: number, owner: string): { first: WriteGroup[]; second: WriteGroup[] } {
  const run = (id: string, extra: Record<string, unknown> = {}) => ({
    id,
    namespace: "default",
    workflow: "w",
    key: null,
    input: "1",
    parentId: null,
    parentSeq: null,
    timeoutMs: null,
    claimedBy: { owner, leaseExpiresAt: T0 + 1e9 },
    version: "1",
    traceParent: null,
    ...extra,
  });
  const entry = (seq: number) => ({
    runId: "",
    seq,
    kind: "step" as const,
    name: `s${seq}`,
    status: "completed" as const,
    attempt: 1,
    wakeAt: null,
    value: "1",
    error: null,
    ref: null,
    startedAt: T0,
    updatedAt: T0,
  });
  const [a, c, d, e, f, b, k, h] = Array.from({ length: 8 }, () => uuidv7());
  const g = (runId: string, epoch: number, ops: WriteGroup["ops"]): WriteGroup => ({ runId, epoch, owner, ops });
  return {
    first: [
      g(a as string, 1, [
        { op: "insertRun", run: run(a as string) },
        { op: "putEntry", entry: entry(1) },
        { op: "publish", seq: 1, attempt: 1, data: "x", retain: 10 },
        { op: "insertRun", run: run(c as string, { parentId: a, parentSeq: 2, claimedBy: null }) },
      ]),
      g(d as string, 1, [
        { op: "insertRun", run: run(d as string, { concurrencyKey: "lane", concurrencyLimit: 1000 }) },
        { op: "putEntry", entry: entry(1) },
        { op: "finish", status: "completed", output: "1", error: null },
      ]),
      g(e as string, 1, [
        { op: "insertRun", run: run(e as string) },
        { op: "continueAsNew", input: "2" },
      ]),
      g(f as string, 1, [{ op: "insertRun", run: run(f as string) }, { op: "release" }]),
      // A child that ends at once: its parent is woken by id.
      g(h as string, 1, [
        { op: "insertRun", run: run(h as string, { parentId: a, parentSeq: 3 }) },
        { op: "finish", status: "completed", output: "1", error: null },
      ]),
      g(b as string, 0, [{ op: "insertRun", run: run(b as string, { claimedBy: null }) }]),
      // The same key every time: from the second call on, a conflict answered with the existing run.
      g(k as string, 0, [{ op: "insertRun", run: run(k as string, { claimedBy: null, key: "same" }) }]),
    ],
    second: [
      g(a as string, 1, [
        { op: "putEntry", entry: entry(1), update: true },
        { op: "putEntry", entry: entry(2), update: false },
        { op: "consumeEvent", eventRowId: i, seq: 2 },
        { op: "suspend", wakeAt: null, events: ["go"], children: [c as string] },
      ]),
    ],
  };
}

test(`postgres: every statement on the run path uses an index with ${STORED} runs stored, with and without statistics`, {
  skip,
  timeout: 240_000,
}, async (t) => {
  const url = pgUrl as string;
  const schema = `t_plans_${randomBytes(4).toString("hex")}`;
  const store = await openPostgresStore({ url, schema, poolSize: 2 });
  const c = new pg.Client({ connectionString: url, options: `-c search_path=${schema}` });
  await c.connect();
  t.after(async () => {
    await store.close();
    await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await c.end();
  });
  // Without statistics must stay so until we ANALYZE: autovacuum would analyze the filled tables.
  for (const tbl of BIG) await c.query(`ALTER TABLE ${tbl} SET (autovacuum_enabled = false)`);

  // kernel_commit's own statements, as the server runs them (auto_explain of the nested statements, sent as notices).
  const plans: { query: string; plan: PlanNode }[] = [];
  const session = async () => {
    const s = new pg.Client({ connectionString: url, options: `-c search_path=${schema}` });
    await s.connect();
    t.after(() => s.end());
    s.on("notice", (n) => {
      const at = n.message?.indexOf("{") ?? -1;
      if (at < 0 || !n.message?.startsWith("duration")) return;
      const p = JSON.parse(n.message.slice(at)) as { "Query Text": string; Plan: PlanNode };
      plans.push({ query: p["Query Text"], plan: p.Plan });
    });
    return s;
  };
  const owner = "w-plans";
  let i = 0;
  const commitRound = async (s: pg.Client) => {
    const { first, second } = commitGroups(++i, owner);
    for (const groups of [first, second]) {
      const { rows } = await s.query<{ r: { ok: boolean }[] }>(
        "SELECT kernel_commit($1::jsonb, $2, 'plans_test') AS r",
        [JSON.stringify(groups), T0],
      );
      const refused = (rows[0]?.r ?? []).filter((x) => !x.ok).length;
      assert.ok(refused <= (i > 1 && groups === first ? 1 : 0), JSON.stringify(rows[0]?.r));
    }
  };
  // While the tables are empty: plpgsql settles on generic plans for this session after five calls.
  const early = await session();
  for (let n = 0; n < 10; n++) await commitRound(early);

  const fill = async (from: number, to: number) => {
    const id = "'old-' || lpad(g::text, 8, '0')";
    const rows = `FROM generate_series(${from}, ${to}) g`;
    await c.query(`INSERT INTO runs (id, namespace, workflow, status, input, output, epoch, created_at, updated_at, completed_at, version)
      SELECT ${id}, 'default', 'w', 'completed', '1', '1', 1, g, g, g, '1' ${rows}`);
    await c.query(`INSERT INTO entries (run_id, seq, kind, name, status, attempt, value, started_at, updated_at)
      SELECT ${id}, s, 'step', 's', 'completed', 1, '1', g, g ${rows}, generate_series(1, 3) s`);
    await c.query(
      `INSERT INTO events (run_id, name, event_id, payload, created_at, consumed_seq) SELECT ${id}, 'go', 'e', '1', g, 2 ${rows}`,
    );
    await c.query(
      `INSERT INTO stream_chunks (run_id, pos, seq, attempt, data, created_at) SELECT ${id}, p, 1, 1, 'x', g ${rows}, generate_series(1, 2) p`,
    );
  };

  const check = async (s: pg.Client, stats: string) => {
    plans.length = 0;
    await s.query("LOAD 'auto_explain'");
    await s.query(
      "SET auto_explain.log_min_duration = 0; SET auto_explain.log_nested_statements = on; SET auto_explain.log_format = json",
    );
    await s.query("SET auto_explain.log_level = notice; SET client_min_messages = notice");
    for (let n = 0; n < 7; n++) await commitRound(s);
    await s.query("SET auto_explain.log_min_duration = -1");
    const nested = plans.filter((p) => !p.query.startsWith("SELECT kernel_commit"));
    assert.ok(nested.length > 100, `auto_explain reported the statements inside kernel_commit (${nested.length})`);
    assert.ok(
      nested.some((p) => /FOR UPDATE/.test(p.query)),
      "the lock of the batch's runs was seen",
    );
    const bad = nested.flatMap((p) => seqScans(p.plan).map((s) => `${s} in: ${p.query.trim().slice(0, 160)}`));
    assert.deepEqual([...new Set(bad)], [], `kernel_commit, statistics ${stats}`);

    // The store's own statements, planned with their parameters as the pg client sends them.
    const ids = Array.from({ length: 20 }, (_, n) => `old-${String(n * 37 + 1).padStart(8, "0")}`);
    const epochs = sql.epochsById(ids.map((id) => ({ id, epoch: 1 })));
    const served = JSON.stringify({ w: "1" });
    const statements: [string, string, unknown[]][] = [
      ["claim", sql.CLAIM, [owner, T0 + 30_000, T0, 16, served]],
      ["renew", sql.RENEW, [T0 + 30_000, owner, ids, epochs]],
      ["renew one", sql.RENEW_ONE, [T0 + 30_000, owner, ids[0], 1]],
      ["next wake", sql.NEXT_WAKE, [served, owner]],
      ["get run", sql.GET_RUN, [ids[0]]],
      ["get runs", sql.GET_RUNS, [ids]],
      ["by key", sql.BY_KEY, ["w", "same"]],
      ["journal", sql.JOURNAL, [ids[0]]],
      ["events", sql.EVENTS, [ids[0]]],
      ["lock tree", sql.LOCK_TREE, [ids[0]]],
      ["cancel", sql.CANCEL_TREE, [ids[0], T0, "{}"]],
      ["count runs", counts.COUNTS, [T0]],
      // Retention's batches run beside claims and commits: they must be as cheap.
      [
        "retention",
        retention.PICK,
        [
          "completed",
          T0,
          200,
          ...retention.scopeArgs({
            workflow: null,
            namespace: "default",
            exceptWorkflows: ["x"],
            exceptNamespaces: [],
          }),
        ],
      ],
    ];
    for (const [name, text, args] of statements) {
      const { rows } = await c.query<{ "QUERY PLAN": { Plan: PlanNode }[] }>(`EXPLAIN (FORMAT JSON) ${text}`, args);
      const plan = rows[0]?.["QUERY PLAN"][0]?.Plan as PlanNode;
      assert.deepEqual(seqScans(plan), [], `${name}, statistics ${stats}: ${JSON.stringify(plan)}`);
    }
  };
  // 20,000 runs, a new session: planned afresh, where a 100-row guess for a set-returning function makes a scan look cheap.
  await fill(1, 20_000);
  await check(await session(), "none, 20,000 runs, planned afresh");
  // All of them, in the session whose plans were cached while the tables were empty.
  await fill(20_001, STORED);
  await check(early, `none, ${STORED} runs, plans cached while the tables were empty`);
  await c.query("ANALYZE");
  await check(early, `after ANALYZE, ${STORED} runs`);
});

test(`sqlite: every statement on the run path searches an index with ${STORED} runs stored, with and without statistics`, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "agentd-plans-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, "kernel.db");
  await (await openSqliteStore(path)).close();
  const db = new DatabaseSync(path);
  t.after(() => db.close());
  db.exec("BEGIN");
  const run =
    db.prepare(`INSERT INTO runs (id, namespace, workflow, status, input, output, epoch, created_at, updated_at, completed_at, version)
    VALUES (?, 'default', 'w', 'completed', '1', '1', 1, ?, ?, ?, '1')`);
  const entry = db.prepare(
    "INSERT INTO entries (run_id, seq, kind, name, status, attempt, value, started_at, updated_at) VALUES (?, ?, 'step', 's', 'completed', 1, '1', ?, ?)",
  );
  for (let g = 1; g <= STORED; g++) {
    const id = `old-${String(g).padStart(8, "0")}`;
    run.run(id, g, g, g);
    for (let s = 1; s <= 3; s++) entry.run(id, s, g, g);
  }
  db.exec("COMMIT");
  // Every statement the store prepares, the metrics' count by status included (ended runs come from their counters).
  const statements = [
    ...Object.entries(prepareQueries(db)),
    ...Object.entries(new SqliteWrites(db).statements()),
    ...Object.entries(new SqliteRetention(db).statements()),
  ];
  const check = (stats: string) => {
    for (const [name, st] of statements) {
      const plan = db.prepare(`EXPLAIN QUERY PLAN ${st.sourceSQL}`).all() as { detail: string }[];
      const scans = plan
        .map((p) => p.detail)
        .filter((d) => /^SCAN (runs|entries|events|stream_chunks|schedule_ticks)\b/.test(d));
      assert.deepEqual(scans, [], `${name}, statistics ${stats}: ${plan.map((p) => p.detail).join(" | ")}`);
    }
  };
  check("none");
  db.exec("ANALYZE");
  check("after ANALYZE");
});

test("sqlite: a namespace's runs of a status it has none of are found by an index, not by reading all of its runs", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "agentd-plans-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, "kernel.db");
  await (await openSqliteStore(path)).close();
  const db = new DatabaseSync(path);
  t.after(() => db.close());
  db.exec("BEGIN");
  const run =
    db.prepare(`INSERT INTO runs (id, namespace, workflow, status, input, epoch, created_at, updated_at, version)
    VALUES (?, ?, 'w', ?, '1', 1, ?, ?, '1')`);
  for (let g = 1; g <= 20_000; g++)
    run.run(`r-${g}`, g % 2 ? "tenant-a" : "tenant-b", g % 2 ? "completed" : "failed", g, g);
  db.exec("COMMIT");
  // listRuns's statement for { namespace, status } (SqliteStore.listRuns writes it so).
  const sql = "SELECT * FROM runs WHERE status IN (?) AND namespace = ? ORDER BY created_at DESC, id DESC LIMIT ?";
  for (const stats of ["none", "after ANALYZE"]) {
    if (stats !== "none") db.exec("ANALYZE");
    const plan = (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as { detail: string }[]).map((p) => p.detail);
    assert.ok(
      plan.some((d) => /^SEARCH runs USING INDEX runs_namespace_status \(namespace=\? AND status=\?\)/.test(d)),
      `statistics ${stats}: ${plan.join(" | ")}`,
    );
    const store = await openSqliteStore(path);
    assert.deepEqual(await store.listRuns({ namespace: "tenant-a", status: "failed", limit: 10 }), []);
    assert.equal((await store.listRuns({ namespace: "tenant-b", status: "failed", limit: 3 }))[0]?.id, "r-20000");
    await store.close();
  }
});
