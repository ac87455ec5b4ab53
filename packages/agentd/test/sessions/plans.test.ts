import assert from "node:assert/strict";
import { test } from "node:test";
import { HAS_TENANT_KEY } from "../../src/composio/access.ts";
import type { Db } from "../../src/db/index.ts";
import { ROWS_JSON } from "../../src/mcp/servers.ts";
import { openAndAppend } from "../../src/sessions/receive.ts";
import { sessions } from "../../src/sessions/store.ts";
import { turnView } from "../../src/sessions/turn-view.ts";
import { Tenants } from "../../src/tenancy/tenants.ts";
import { BACKENDS } from "../support/backends.ts";
import { fillStore, recording, STORE, tenantId } from "../db/plans-support.ts";

/**
 * The statements Postgres makes of two or more for a turn (receive's, the context's view of its
 * session) read what one session needs, on the store of test/db/plans.test.ts (100 tenants of 10
 * sessions of 1,000 messages, a year of usage): EXPLAIN ANALYZE, rolled back, counts the rows read.
 */
const NOW = Date.UTC(2026, 5, 1, 12);
const UNDO = new Error("undo");
const WINDOW = 20;
const AT_MOST = 31;

interface PgNode {
  "Node Type": string;
  "Relation Name"?: string;
  "Actual Rows": number;
  "Plan Rows": number;
  "Actual Loops": number;
  "Rows Removed by Filter"?: number;
  "Rows Removed by Index Recheck"?: number;
  Plans?: PgNode[];
}

function rowsRead(n: PgNode): number {
  const own =
    n["Node Type"] === "Bitmap Index Scan" || (/Scan$/.test(n["Node Type"]) && n["Relation Name"])
      ? (n["Actual Rows"] + (n["Rows Removed by Filter"] ?? 0) + (n["Rows Removed by Index Recheck"] ?? 0)) *
        n["Actual Loops"]
      : 0;
  return own + (n.Plans ?? []).reduce((a, p) => a + rowsRead(p), 0);
}

async function planned(db: Db, sql: string, params: unknown[]): Promise<PgNode> {
  let plan: PgNode | undefined;
  await db
    .tx(async (tx) => {
      const rows = await tx.all<{ "QUERY PLAN": { Plan: PgNode }[] }>(`EXPLAIN (ANALYZE, FORMAT JSON) ${sql}`, params);
      plan = rows[0]?.["QUERY PLAN"][0]?.Plan;
      throw UNDO;
    })
    .catch((e: unknown) => {
      if (e !== UNDO) throw e;
    });
  assert.ok(plan, sql);
  return plan;
}

for (const b of BACKENDS.filter((x) => x.name === "postgres"))
  test("postgres: a turn's combined statements read one session's rows, whatever else is stored", {
    timeout: 240_000,
  }, async (t) => {
    const { db } = await b.db(t);
    await fillStore(db, NOW);
    const { db: rec, statements, label } = recording(db);
    const scope = new Tenants(rec, () => NOW).scope(tenantId(0));
    const session = await sessions.require(scope, STORE.sessionId(0, 0));
    const last = (await sessions.recent(scope, session.id, 1))[0];
    assert.ok(last);
    label("a turn's view");
    // With what the tool sources read first, as a turn's view reads it along (the tenant's MCP servers, its Composio key).
    await turnView(
      scope,
      { sessionId: session.id, upto: last.seq, window: WINDOW, atMost: AT_MOST, now: NOW },
      new Map([
        ["mcp", ROWS_JSON],
        ["composio", HAS_TENANT_KEY],
      ]),
    );
    label("receive");
    await openAndAppend(
      scope,
      { channel: session.channel, conversation: session.conversation },
      {
        role: "user",
        content: "hi",
        sourceKey: "plans-1",
      },
      NOW,
    );
    const budget: Record<string, number> = {
      // The recent rows (twice the window and one), the unsummarized ones counted, the session twice, today's usage
      // (the tenant's MCP servers and Composio key: none).
      "a turn's view": 2 * WINDOW + 1 + AT_MOST + 16,
      receive: 16,
    };
    for (const stats of ["none", "after ANALYZE"]) {
      if (stats !== "none") {
        await db.run("ANALYZE");
        // A session's messages estimated at its size, not one row (a session names its tenant: migration 18). At one
        // row, reading all of them and sorting cost the planner the same as walking the index to the window, and once won.
        const estimate = await planned(
          db,
          `SELECT 1 FROM os_messages WHERE tenant_id = '${tenantId(0)}' AND session_id = ?`,
          [session.id],
        );
        assert.ok(estimate["Plan Rows"] >= 20, `a session of 100 messages estimated at ${estimate["Plan Rows"]} rows`);
      }
      const bad: string[] = [];
      for (const s of statements.filter((x) => x.label in budget)) {
        const plan = await planned(db, s.sql, s.params);
        const read = rowsRead(plan);
        if (read > (budget[s.label] as number))
          bad.push(`${s.label}: read ${read} rows (statistics ${stats}): ${JSON.stringify(plan)}`);
      }
      assert.deepEqual(bad, []);
    }
  });
