/**
 * Does the agent layer's store work grow with everything stored, or only with what it needs? Each
 * statement the issue named, called through agentd's own code, on a large store (1,000 tenants,
 * 10,000 sessions, 1,000,000 messages, 100,000 memories, 100,000 runs, ...: bench/agent-scale/fill.ts)
 * beside a store of its one tenant alone, alternately in blocks of 10 so load from elsewhere weighs on both.
 * One JSON object per line on stdout, progress on stderr.
 *
 *     node bench/agent-scale.ts [--store sqlite|postgres|both] [--tenants 1000] [--samples 200] [--turns 200] [--analyze]
 *
 * After the statements, both stores are started (worker and scheduler, as `agentd start` runs) and the
 * agent turn itself is timed on each: `--turns 0` skips it.
 *
 * `--tenants 100` is the 10× smaller store. Without `--analyze` the filled tables have no planner
 * statistics (autovacuum off on Postgres), the harder case; with it, ANALYZE runs after the fill.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import pg from "pg";
import { type Agentd, createAgentd } from "../packages/agentd/src/app.ts";
import { takeHeldDeliveries } from "../packages/agentd/src/channels/held.ts";
import { osCounts } from "../packages/agentd/src/health/os-counts.ts";
import { sessions } from "../packages/agentd/src/sessions/store.ts";
import { type ModelProcess, startModelProcess } from "./agent-model.ts";
import { turnOverhead } from "./agent-scale/turn.ts";
import { conversation, fillPostgres, fillSqlite, PER_TENANT, sessionId, tenantId } from "./agent-scale/fill.ts";
import { summarize } from "./shared.ts";

const { values: argv } = parseArgs({
  options: {
    store: { type: "string", default: "both" },
    tenants: { type: "string", default: "1000" },
    samples: { type: "string", default: "200" },
    analyze: { type: "boolean", default: false },
    turns: { type: "string", default: "200" },
  },
});
type Kind = "sqlite" | "postgres";
const TENANTS = Number(argv.tenants);
const SAMPLES = Number(argv.samples);
const TURNS = Number(argv.turns);
const PG_URL = process.env.DATABASE_URL || "postgres://postgres@127.0.0.1:5432/test";
const NOW = Date.now();

const emit = (store: Kind | null, metric: string, fields: Record<string, unknown>) =>
  process.stdout.write(`${JSON.stringify({ bench: "agent_scale", ...(store ? { store } : {}), metric, ...fields })}\n`);
const note = (s: string) => process.stderr.write(`[agent-scale] ${s}\n`);

interface Place {
  app: Agentd;
  close(): Promise<void>;
}

async function pgAnswers(): Promise<boolean> {
  const c = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 1_000 });
  try {
    await c.connect();
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => {});
  }
}

async function pgRun(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

/** A store of `tenants` tenants, filled, with agentd open on it (not started: no worker claims anything). */
async function place(kind: Kind, tenants: number, model: ModelProcess): Promise<Place> {
  const dataDir = mkdtempSync(join(tmpdir(), "agentd-scale-"));
  const schema = kind === "postgres" ? `bench_scale_${randomBytes(6).toString("hex")}` : undefined;
  const open = () =>
    createAgentd({
      env: {},
      config: {
        dataDir,
        adminToken: "bench-admin",
        model: { id: "stand-in", baseURL: model.url, apiKey: "bench-key" },
        ...(schema ? { databaseUrl: PG_URL, pgSchema: schema } : {}),
      },
    });
  const drop = async () => {
    rmSync(dataDir, { recursive: true, force: true });
    if (schema) await pgRun(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  };
  try {
    // Opened once to make the tables, closed while filling (SQLite), opened again on the filled store.
    const first = await open();
    const t0 = performance.now();
    if (schema) {
      await pgRun(
        ["os_messages", "os_outbox", "os_memories", "os_approvals", "os_usage", "os_sessions", "runs", "entries"]
          .map((t) => `ALTER TABLE ${schema}.${t} SET (autovacuum_enabled = false);`)
          .join(""),
      );
      await fillPostgres(PG_URL, schema, tenants, NOW);
      if (argv.analyze) await pgRun(`SET search_path = ${schema}; ANALYZE`);
      await first.close();
    } else {
      await first.close();
      fillSqlite(dataDir, tenants, NOW);
    }
    const fillSeconds = (performance.now() - t0) / 1000;
    const app = await open();
    if (!schema && argv.analyze) await app.db.run("ANALYZE");
    note(`${kind}: ${tenants} tenant(s) filled in ${fillSeconds.toFixed(1)} s`);
    if (tenants > 1) emit(kind, "fill_seconds", { tenants, seconds: fillSeconds });
    return {
      app,
      async close() {
        await app.close();
        await drop();
      },
    };
  } catch (e) {
    await drop();
    throw e;
  }
}

/** One statement of the issue, as agentd runs it, on tenant 0 (its first session); `prepare` runs untimed before each call. */
interface Case {
  name: string;
  what: string;
  prepare?: (app: Agentd) => Promise<void>;
  call: (app: Agentd) => Promise<unknown>;
}

const T = tenantId(0);
const scope0 = (app: Agentd) => app.tenants.scope(T);
/** The last reply of tenant 0's first session: its outbox row is put back to held before each call. */
const lastReply = (app: Agentd) =>
  scope0(app).get<{ source_key: string }>(
    "SELECT source_key FROM os_messages WHERE tenant_id = $tenant AND session_id = ? AND role = 'assistant' ORDER BY seq DESC LIMIT 1",
    [sessionId(0, 0)],
  );

const CASES: Case[] = [
  {
    name: "recovery_at_start",
    what: "inbox.recover() at start with no message waiting for a turn (every start runs it)",
    call: (app) => app.inbox.recover(),
  },
  {
    name: "recovery_per_tenant",
    what: "sessions.unstarted(): a tenant's messages waiting for a turn (none), as recovery reads each tenant it finds",
    call: (app) => sessions.unstarted(scope0(app)),
  },
  {
    name: "held_none",
    what: "takeHeldDeliveries() for a conversation with nothing held (every WhatsApp message from a person)",
    call: (app) => takeHeldDeliveries(() => NOW, scope0(app), "whatsapp", conversation(0, 0)),
  },
  {
    name: "held_reply_rebuilt",
    what: "takeHeldDeliveries() for a conversation with one held reply: taken and rebuilt from the stored reply",
    async prepare(app) {
      const key = (await lastReply(app))?.source_key;
      await scope0(app).run("UPDATE os_outbox SET status = 'held' WHERE tenant_id = $tenant AND key = ?", [key]);
    },
    async call(app) {
      const out = await takeHeldDeliveries(() => NOW, scope0(app), "whatsapp", conversation(0, 0));
      if (out.length !== 1 || !out[0]?.text) throw new Error(`the held reply was not rebuilt: ${JSON.stringify(out)}`);
    },
  },
  {
    name: "metrics_os_counts",
    what: "the OS store's counts of GET /metrics: tenants, today's tokens and model calls, approvals pending",
    call: (app) => osCounts(app.db, NOW),
  },
  {
    name: "unsummarized_count",
    what: "counting a session's unsummarized messages for compaction (a session of 100 messages never compacted)",
    async call(app) {
      const session = await sessions.require(scope0(app), sessionId(0, 0));
      const n = await sessions.unsummarized(
        scope0(app),
        session,
        Number.MAX_SAFE_INTEGER,
        app.config.historyWindow + app.config.compactAfter + 1,
      );
      if (n <= app.config.historyWindow + app.config.compactAfter) throw new Error(`counted ${n}`);
    },
  },
  {
    name: "memory_recall",
    what: "memory.search() for common words every tenant's memories hold (10 best of the tenant's 100)",
    async call(app) {
      const hits = await app.memory.search(scope0(app), "the meeting about the project");
      if (hits.length !== 10) throw new Error(`found ${hits.length}`);
    },
  },
];

/** Sampling a case stops after this long once 10 samples are in: a statement that reads a million rows takes seconds. */
const CASE_BUDGET_MS = 30_000;

/** Each case `SAMPLES` times on both stores, in alternating blocks of 10, after 3 warm-up calls each. */
async function measure(kind: Kind, large: Place, empty: Place): Promise<void> {
  for (const c of CASES) {
    const xs: number[][] = [[], []];
    const places = [large, empty];
    const once = async (p: Place) => {
      await c.prepare?.(p.app);
      const t = performance.now();
      await c.call(p.app);
      return performance.now() - t;
    };
    for (const p of places) for (let i = 0; i < 3; i++) await once(p);
    const start = performance.now();
    for (let done = 0; done < SAMPLES && (done < 10 || performance.now() - start < CASE_BUDGET_MS); done += 10)
      for (const [j, p] of places.entries())
        for (let i = done; i < Math.min(SAMPLES, done + 10); i++) xs[j]?.push(await once(p));
    const l = summarize(xs[0] as number[]);
    const e = summarize(xs[1] as number[]);
    emit(kind, "statement_ms", {
      statement: c.name,
      tenants: TENANTS,
      statistics: argv.analyze ? "analyzed" : "none",
      samples: xs[0]?.length,
      p50: l.p50,
      p99: l.p99,
      empty_p50: e.p50,
      empty_p99: e.p99,
      ratio_p50: Math.round((l.p50 / e.p50) * 100) / 100,
      what: c.what,
    });
    note(
      `${kind} ${c.name}: p50 ${l.p50.toFixed(3)} ms, one tenant alone ${e.p50.toFixed(3)} ms (${(l.p50 / e.p50).toFixed(2)}×)`,
    );
  }
}

/** The turn on tenant 0 of both stores, started as `agentd start` starts them. */
async function measureTurns(kind: Kind, large: Place, empty: Place): Promise<void> {
  await large.app.start();
  await empty.app.start();
  const t = await turnOverhead(T, large, empty, model, TURNS);
  const r = (x: number) => Math.round(x * 100) / 100;
  emit(kind, "turn_overhead_ms", {
    tenants: TENANTS,
    samples: t.samples,
    p50: r(t.large.p50),
    p99: r(t.large.p99),
    empty_p50: r(t.empty.p50),
    empty_p99: r(t.empty.p99),
    ratio_p50: r(t.large.p50 / t.empty.p50),
    target: "within 10 % of the store of its one tenant alone (issue 22)",
    pass: t.large.p50 <= t.empty.p50 * 1.1,
    what: "a turn (inbox.receive to kernel.result) less the stand-in model's own time, tenant 0, on the large store and on its one tenant alone",
  });
  note(
    `${kind} turn overhead: p50 ${t.large.p50.toFixed(2)} ms, one tenant alone ${t.empty.p50.toFixed(2)} ms (${(t.large.p50 / t.empty.p50).toFixed(2)}×)`,
  );
}

const kinds: Kind[] = argv.store === "both" ? ["sqlite", "postgres"] : [argv.store as Kind];
emit(null, "meta", {
  tenants: TENANTS,
  per_tenant: PER_TENANT,
  samples: SAMPLES,
  statistics: argv.analyze ? "analyzed" : "none",
  cpus: cpus().length,
  loadavg: loadavg(),
  node: process.version,
});
let failed = 0;
const model = await startModelProcess();
for (const kind of kinds) {
  if (kind === "postgres" && !(await pgAnswers())) {
    emit(kind, "skipped", { reason: `no Postgres answers at ${PG_URL}` });
    continue;
  }
  const opened: Place[] = [];
  try {
    const empty = await place(kind, 1, model);
    opened.push(empty);
    const large = await place(kind, TENANTS, model);
    opened.push(large);
    await measure(kind, large, empty);
    if (TURNS > 0) await measureTurns(kind, large, empty);
  } catch (e) {
    failed++;
    emit(kind, "error", { error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
  } finally {
    for (const p of opened) await p.close();
  }
}
await model.close();
emit(null, "done", { loadavg: loadavg(), failed });
process.exitCode = failed ? 1 : 0;
