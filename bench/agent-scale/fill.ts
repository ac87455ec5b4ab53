/**
 * The large store's rows, bulk-inserted (generate_series on Postgres, prepared inserts in large
 * transactions on SQLite), not made through agentd: every tenant holds the same things, so a store of
 * one tenant is the "empty" store the large one is measured beside. Per tenant: 10 sessions on
 * WhatsApp, 1,000 messages (a person's message and its reply, in turn, 100 a session; every reply
 * recorded in the outbox as read), 100 memories sharing common words with every other tenant's, 100
 * approvals (decided; tenant 0 has one pending), 30 days of usage (every tenth tenant used agentd
 * today) and 100 completed runs of 3 steps in the kernel's tables.
 */
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import pg from "pg";
import { ftsText } from "../../packages/agentd/src/memory/query.ts";

export const PER_TENANT = { sessions: 10, messages: 1_000, memories: 100, approvals: 100, usageDays: 30, runs: 100 };
export const T0 = Date.UTC(2026, 0, 1);
const DAY = 86_400_000;

export const tenantId = (t: number) => `t${String(t).padStart(5, "0")}`;
export const sessionId = (t: number, s: number) => `ses-${tenantId(t)}-${s}`;
export const conversation = (t: number, s: number) => `+1555${String(t).padStart(5, "0")}${String(s).padStart(2, "0")}`;
export const MEMORY_TEXT = "the meeting with the team about the project plan and the weather";
/** Message g (0-based) belongs to pair k = g/2: the person's message (even g), then its reply. */
const pairOf = (g: number, tenants: number) => {
  const k = Math.floor(g / 2);
  return { k, t: k % tenants, s: Math.floor(k / tenants) % PER_TENANT.sessions };
};
const day = (now: number, back: number) => new Date(now - back * DAY).toISOString().slice(0, 10);

/** Fills a store of `tenants` tenants; `now` is today's time for usage. */
export async function fillPostgres(url: string, schema: string, tenants: number, now: number): Promise<void> {
  const c = new pg.Client({ connectionString: url, options: `-c search_path=${schema}` });
  await c.connect();
  try {
    const T = tenants;
    const tid = (x: string) => `'t' || lpad((${x})::text, 5, '0')`;
    const q = (sql: string, params: unknown[] = []) => c.query(sql, params);
    await q(
      `INSERT INTO os_tenants (id, name, settings, created_at) SELECT ${tid("t")}, 'tenant ' || t, '{}', $1::bigint FROM generate_series(0, $2::int - 1) t`,
      [T0, T],
    );
    await q(
      `INSERT INTO os_sessions (id, tenant_id, channel, conversation, created_at, updated_at)
       SELECT 'ses-' || ${tid("t")} || '-' || s, ${tid("t")}, 'whatsapp', '+1555' || lpad(t::text, 5, '0') || lpad(s::text, 2, '0'), $1::bigint, $1::bigint
       FROM generate_series(0, $2::int - 1) t, generate_series(0, $3::int - 1) s`,
      [T0, T, PER_TENANT.sessions],
    );
    // Pair k: tenant k % T, session (k / T) % 10; ordered by g so seq follows time, tenants interleaved.
    const pair = `(g / 2) AS k, (g / 2) % $1 AS t, ((g / 2) / $1) % ${PER_TENANT.sessions} AS s`;
    await q(
      `INSERT INTO os_messages (id, tenant_id, session_id, role, content, source_key, run_id, created_at)
       SELECT 'msg-' || g, ${tid("t")}, 'ses-' || ${tid("t")} || '-' || s, CASE WHEN g % 2 = 0 THEN 'user' ELSE 'assistant' END,
         'message ' || g || ' about the weather', CASE WHEN g % 2 = 0 THEN 'wa:' || k ELSE 'reply:run-' || k END, 'run-' || k, $2::bigint + g
       FROM (SELECT g, ${pair} FROM generate_series(0, $1::int * $3::int - 1) g) x ORDER BY g`,
      [T, T0, PER_TENANT.messages],
    );
    await q(
      `INSERT INTO os_outbox (tenant_id, key, part, channel, conversation, external_id, status, created_at, updated_at)
       SELECT ${tid("t")}, 'reply:run-' || k, 0, 'whatsapp', '+1555' || lpad(t::text, 5, '0') || lpad(s::text, 2, '0'), 'wamid.' || k, 'read', $2::bigint + g, $2::bigint + g
       FROM (SELECT g, ${pair} FROM generate_series(1, $1::int * $3::int - 1, 2) g) x`,
      [T, T0, PER_TENANT.messages],
    );
    await q(
      `INSERT INTO os_memories (id, tenant_id, content, source, created_at)
       SELECT 'mem-' || i, ${tid("i % $1")}, 'note ' || i || ' ' || $2, 'agent', $3::bigint + i FROM generate_series(0, $1::int * $4::int - 1) i`,
      [T, MEMORY_TEXT, T0, PER_TENANT.memories],
    );
    await q(
      `INSERT INTO os_approvals (id, tenant_id, run_id, session_id, tool, args, call_hash, code, status, created_at, expires_at, decided_at, decided_by)
       SELECT 'apr-' || i, ${tid("i % $1")}, 'run-' || i, NULL, 'http_request', '{}', 'h', lpad(i::text, 6, '0'),
         CASE WHEN i = 0 THEN 'pending' ELSE 'approved' END, $2::bigint + i, $2::bigint + i + 3600000, CASE WHEN i = 0 THEN NULL ELSE $2::bigint + i END, 'bench'
       FROM generate_series(0, $1::int * $3::int - 1) i`,
      [T, T0, PER_TENANT.approvals],
    );
    const days = Array.from({ length: PER_TENANT.usageDays }, (_, d) => day(now, d));
    await q(
      `INSERT INTO os_usage (tenant_id, day, tokens, model_calls)
       SELECT ${tid("t")}, ($2::text[])[d + 1], 1000 + t, 10 FROM generate_series(0, $1::int - 1) t, generate_series(0, $3::int - 1) d
       WHERE d > 0 OR t % 10 = 0`,
      [T, days, PER_TENANT.usageDays],
    );
    const run = "'00000000-0000-7000-8000-' || lpad(to_hex(i), 12, '0')";
    await q(
      `INSERT INTO runs (id, namespace, workflow, status, input, output, epoch, created_at, updated_at, completed_at, version)
       SELECT ${run}, ${tid("i % $1")}, 'agent.turn', 'completed', '{}', '{}', 1, $2::bigint + i, $2::bigint + i, $2::bigint + i, '1'
       FROM generate_series(1, $1::int * $3::int) i`,
      [T, T0, PER_TENANT.runs],
    );
    await q(
      `INSERT INTO entries (run_id, seq, kind, name, status, attempt, value, started_at, updated_at)
       SELECT ${run}, s, 'step', 's' || s, 'completed', 1, '{"ok":true}', $1::bigint + i, $1::bigint + i
       FROM generate_series(1, $2::int * $3::int) i, generate_series(1, 3) s`,
      [T0, T, PER_TENANT.runs],
    );
  } finally {
    await c.end();
  }
}

/** The same rows in the data folder's SQLite files (`os.db`, the kernel's `agentd.db`). */
export function fillSqlite(dataDir: string, tenants: number, now: number): void {
  const T = tenants;
  const os = new DatabaseSync(join(dataDir, "os.db"));
  os.exec("PRAGMA busy_timeout = 60000");
  const inTx = (db: DatabaseSync, n: number, each: (i: number) => void) => {
    for (let from = 0; from < n; from += 100_000) {
      db.exec("BEGIN IMMEDIATE");
      for (let i = from; i < Math.min(n, from + 100_000); i++) each(i);
      db.exec("COMMIT");
    }
  };
  try {
    const tenant = os.prepare("INSERT INTO os_tenants (id, name, settings, created_at) VALUES (?, ?, '{}', ?)");
    const session = os.prepare(
      "INSERT INTO os_sessions (id, tenant_id, channel, conversation, created_at, updated_at) VALUES (?, ?, 'whatsapp', ?, ?, ?)",
    );
    inTx(os, T, (t) => {
      tenant.run(tenantId(t), `tenant ${t}`, T0);
      for (let s = 0; s < PER_TENANT.sessions; s++)
        session.run(sessionId(t, s), tenantId(t), conversation(t, s), T0, T0);
    });
    const message = os.prepare(
      "INSERT INTO os_messages (id, tenant_id, session_id, role, content, source_key, run_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    );
    const sent = os.prepare(
      "INSERT INTO os_outbox (tenant_id, key, part, channel, conversation, external_id, status, created_at, updated_at) VALUES (?, ?, 0, 'whatsapp', ?, ?, 'read', ?, ?)",
    );
    inTx(os, T * PER_TENANT.messages, (g) => {
      const { k, t, s } = pairOf(g, T);
      const user = g % 2 === 0;
      const key = user ? `wa:${k}` : `reply:run-${k}`;
      message.run(
        `msg-${g}`,
        tenantId(t),
        sessionId(t, s),
        user ? "user" : "assistant",
        `message ${g} about the weather`,
        key,
        `run-${k}`,
        T0 + g,
      );
      if (!user) sent.run(tenantId(t), key, conversation(t, s), `wamid.${k}`, T0 + g, T0 + g);
    });
    const memory = os.prepare(
      "INSERT INTO os_memories (id, tenant_id, content, source, created_at) VALUES (?, ?, ?, 'agent', ?) RETURNING rid",
    );
    const fts = os.prepare("INSERT INTO os_memories_fts (rowid, terms) VALUES (?, ?)");
    inTx(os, T * PER_TENANT.memories, (i) => {
      const content = `note ${i} ${MEMORY_TEXT}`;
      const { rid } = memory.get(`mem-${i}`, tenantId(i % T), content, T0 + i) as { rid: number };
      fts.run(rid, ftsText(tenantId(i % T), content));
    });
    const approval = os.prepare(
      `INSERT INTO os_approvals (id, tenant_id, run_id, session_id, tool, args, call_hash, code, status, created_at, expires_at, decided_at, decided_by)
       VALUES (?, ?, ?, NULL, 'http_request', '{}', 'h', ?, ?, ?, ?, ?, 'bench')`,
    );
    inTx(os, T * PER_TENANT.approvals, (i) =>
      approval.run(
        `apr-${i}`,
        tenantId(i % T),
        `run-${i}`,
        String(i).padStart(6, "0"),
        i === 0 ? "pending" : "approved",
        T0 + i,
        T0 + i + 3_600_000,
        i === 0 ? null : T0 + i,
      ),
    );
    const usage = os.prepare("INSERT INTO os_usage (tenant_id, day, tokens, model_calls) VALUES (?, ?, ?, 10)");
    inTx(os, T, (t) => {
      for (let d = 0; d < PER_TENANT.usageDays; d++)
        if (d > 0 || t % 10 === 0) usage.run(tenantId(t), day(now, d), 1000 + t);
    });
  } finally {
    os.close();
  }
  const k = new DatabaseSync(join(dataDir, "agentd.db"));
  k.exec("PRAGMA busy_timeout = 60000");
  try {
    const run = k.prepare(
      `INSERT INTO runs (id, namespace, workflow, status, input, output, epoch, created_at, updated_at, completed_at, version)
       VALUES (?, ?, 'agent.turn', 'completed', '{}', '{}', 1, ?, ?, ?, '1')`,
    );
    const entry = k.prepare(
      "INSERT INTO entries (run_id, seq, kind, name, status, attempt, value, started_at, updated_at) VALUES (?, ?, 'step', ?, 'completed', 1, '{\"ok\":true}', ?, ?)",
    );
    inTx(k, T * PER_TENANT.runs, (i0) => {
      const i = i0 + 1;
      const id = `00000000-0000-7000-8000-${i.toString(16).padStart(12, "0")}`;
      run.run(id, tenantId(i % T), T0 + i, T0 + i, T0 + i);
      for (let s = 1; s <= 3; s++) entry.run(id, s, `s${s}`, T0 + i, T0 + i);
    });
  } finally {
    k.close();
  }
}
