import assert from "node:assert/strict";
import { test } from "node:test";
import { takeHeldDeliveries } from "../../src/channels/held.ts";
import type { Db } from "../../src/db/index.ts";
import { osCounts } from "../../src/health/os-counts.ts";
import { MemoryStore } from "../../src/memory/store.ts";
import { Inbox } from "../../src/sessions/inbox.ts";
import { sessions } from "../../src/sessions/store.ts";
import { Tenants } from "../../src/tenancy/tenants.ts";
import { BACKENDS } from "../support/backends.ts";
import { fillStore, recording, STORE, tenantId, type Statement } from "./plans-support.ts";

/**
 * The agent layer's statements that once read every tenant's rows for a few of one tenant's (issue
 * 22): recovery at start, WhatsApp's held deliveries and the held reply's rebuild, /metrics' counts,
 * the count of unsummarized messages, memory recall. Each is recorded as agentd's code issues it, on
 * a store of 100 tenants (1,000 with memories), then planned: on Postgres run by EXPLAIN ANALYZE (inside a transaction
 * rolled back), which must touch no more rows than the statement needs; on SQLite its query plan
 * must not scan a big table or search one by the tenant alone. Without planner statistics and with.
 */

const NOW = Date.UTC(2026, 5, 1, 12);
const UNDO = new Error("undo");

/** Each statement's calls, through agentd's code on a recording Db; `tenant 0` is the one asked about. */
async function record(db: Db): Promise<Statement[]> {
  const { db: rec, statements, label } = recording(db);
  const tenants = new Tenants(rec, () => NOW);
  const scope = tenants.scope(tenantId(0));
  label("recovery at start");
  // No message waits for a turn: recovery reads its index only and starts nothing (no kernel needed).
  assert.equal(await new Inbox(rec, tenants, null as never, null as never, () => NOW).recover(), 0);
  label("recovery of a tenant");
  assert.deepEqual(await sessions.unstarted(scope), []);
  label("held deliveries, none held");
  assert.deepEqual(await takeHeldDeliveries(() => NOW, scope, "whatsapp", STORE.conversation(0, 1)), []);
  await scope.run("UPDATE os_outbox SET status = 'held' WHERE tenant_id = $tenant AND key = ?", [
    STORE.lastReply(0, 0),
  ]);
  label("held reply taken and rebuilt");
  const held = await takeHeldDeliveries(() => NOW, scope, "whatsapp", STORE.conversation(0, 0));
  assert.deepEqual(
    held.map((d) => d.key),
    [STORE.lastReply(0, 0)],
  );
  label("metrics");
  assert.deepEqual(await osCounts(rec, NOW), {
    tenants: STORE.tenants,
    tokens: STORE.tokensToday,
    modelCalls: STORE.callsToday,
    pendingApprovals: 1,
  });
  label("unsummarized count");
  const session = await sessions.require(scope, STORE.sessionId(0, 0));
  assert.equal(await sessions.unsummarized(scope, session, Number.MAX_SAFE_INTEGER, 31), 31);
  label("memory recall");
  assert.equal((await new MemoryStore({ now: () => NOW }).search(scope, "the meeting about the project")).length, 10);
  return statements;
}

interface PgNode {
  "Node Type": string;
  "Relation Name"?: string;
  "Actual Rows": number;
  "Actual Loops": number;
  "Rows Removed by Filter"?: number;
  "Rows Removed by Index Recheck"?: number;
  Plans?: PgNode[];
}

/**
 * Rows a plan read (kept or filtered out), each scan node's rows times its loops; a bitmap's index
 * entries count too, since one side of a BitmapAnd may read far more than the heap scan above keeps.
 */
function rowsRead(n: PgNode): number {
  const own =
    n["Node Type"] === "Bitmap Index Scan" || (/Scan$/.test(n["Node Type"]) && n["Relation Name"])
      ? (n["Actual Rows"] + (n["Rows Removed by Filter"] ?? 0) + (n["Rows Removed by Index Recheck"] ?? 0)) *
        n["Actual Loops"]
      : 0;
  return own + (n.Plans ?? []).reduce((a, p) => a + rowsRead(p), 0);
}

/**
 * What each statement may read at most: what it needs, whatever else is stored (the store holds
 * 100 tenants × 1,000 messages, 100 approvals, 365 days of usage, ...; 1,000 tenants × 100
 * memories). Memory recall ranks the tenant's own entries (all 100 hold the words); a held reply is
 * looked for in each of the tenant's 10 sessions.
 */
const BUDGET: Record<string, number> = {
  "memory recall": 2 * STORE.memories + 16, // its index entries, then its rows
  metrics: STORE.tenants + 16, // the count of tenants reads each: what it counts
};
/** SQLite may scan these whole: they hold only what is looked for (schema 15). */
const PARTIAL = /USING (COVERING )?INDEX (os_messages_unstarted|os_outbox_held|os_approvals_waiting)\b/;
const DEFAULT_BUDGET = 48;

for (const b of BACKENDS)
  test(`${b.name}: the agent layer's statements read what they need with ${STORE.tenants} tenants stored, with and without statistics`, {
    timeout: 240_000,
  }, async (t) => {
    const { db } = await b.db(t);
    await fillStore(db, NOW);
    const check = async (stats: string) => {
      const statements = await record(db);
      assert.ok(statements.length >= 10, `recorded ${statements.length} statements`);
      const bad: string[] = [];
      for (const s of statements) {
        if (db.dialect === "postgres") {
          // Run in a transaction that is rolled back, so what an UPDATE did is undone.
          let plan: PgNode | undefined;
          await db
            .tx(async (tx) => {
              const rows = await tx.all<{ "QUERY PLAN": { Plan: PgNode }[] }>(
                `EXPLAIN (ANALYZE, FORMAT JSON) ${s.sql}`,
                s.params,
              );
              plan = rows[0]?.["QUERY PLAN"][0]?.Plan;
              throw UNDO;
            })
            .catch((e: unknown) => {
              if (e !== UNDO) throw e;
            });
          assert.ok(plan, s.sql);
          const read = rowsRead(plan);
          if (read > (BUDGET[s.label] ?? DEFAULT_BUDGET))
            bad.push(
              `${s.label}: read ${read} rows in ${s.sql.replace(/\s+/g, " ").slice(0, 140)}: ${JSON.stringify(plan)}`,
            );
        } else {
          const plan = (await db.all<{ detail: string }>(`EXPLAIN QUERY PLAN ${s.sql}`, s.params)).map((r) => r.detail);
          const wide = plan.filter(
            (d) =>
              !PARTIAL.test(d) &&
              (/^SCAN (os_messages|os_outbox|os_approvals|os_usage|os_memories|os_sessions)\b/.test(d) ||
                /^SEARCH (os_messages|os_outbox|os_approvals)\b.*\(tenant_id=\?\)$/.test(d)),
          );
          if (wide.length) bad.push(`${s.label}: ${plan.join(" | ")} in ${s.sql.replace(/\s+/g, " ").slice(0, 140)}`);
        }
      }
      assert.deepEqual(bad, [], `statistics ${stats}`);
    };
    await check("none");
    await db.run("ANALYZE");
    await check("after ANALYZE");
  });
