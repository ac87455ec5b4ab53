import type { Db } from "../../src/db/index.ts";
import { ftsTag } from "../../src/memory/query.ts";

/** A statement as agentd's code issued it (`?` placeholders), under the label of what was asked. */
export interface Statement {
  label: string;
  sql: string;
  params: unknown[];
}

/** A Db that records every statement issued through it (in transactions too), under the current label. */
export function recording(db: Db): { db: Db; statements: Statement[]; label(l: string): void } {
  const statements: Statement[] = [];
  let current = "";
  const wrap = (d: Db): Db => ({
    dialect: d.dialect,
    where: d.where,
    stats: d.stats,
    all: (sql, params = []) => (statements.push({ label: current, sql, params: [...params] }), d.all(sql, params)),
    get: (sql, params = []) => (statements.push({ label: current, sql, params: [...params] }), d.get(sql, params)),
    run: (sql, params = []) => (statements.push({ label: current, sql, params: [...params] }), d.run(sql, params)),
    tx: (fn) => d.tx((t) => fn(wrap(t))),
    close: () => d.close(),
  });
  return { db: wrap(db), statements, label: (l) => void (current = l) };
}

const T = 100;
const SESSIONS = 10;
const MESSAGES = 1_000;
const MEMORIES = 100;
/** Tenants in all: the first 100 hold everything, the others memories only (100,000 entries in all). */
const ALL = 1_000;
const APPROVALS = 100;
const DAYS = 365;
const DAY = 86_400_000;
/** Tenants active today: every tenth. */
const activeToday = Array.from({ length: T }, (_, t) => t).filter((t) => t % 10 === 0);

export const tenantId = (t: number) => `t${String(t).padStart(5, "0")}`;

/** What the store holds, for the assertions. Message g belongs to pair k = g/2 (the person's, then the reply). */
export const STORE = {
  tenants: ALL,
  memories: MEMORIES,
  sessionId: (t: number, s: number) => `ses-${tenantId(t)}-${s}`,
  conversation: (t: number, s: number) => `+1555${String(t).padStart(5, "0")}${String(s).padStart(2, "0")}`,
  /** The key of the last reply in session s of tenant t: the largest pair k with k % T = t and (k / T) % 10 = s. */
  lastReply(t: number, s: number): string {
    for (let k = (T * MESSAGES) / 2 - 1; k >= 0; k--)
      if (k % T === t && Math.floor(k / T) % SESSIONS === s) return `reply:run-${k}`;
    throw new Error("no reply");
  },
  tokensToday: activeToday.reduce((a, t) => a + 1000 + t, 0),
  callsToday: activeToday.length * 10,
};

/**
 * Fills the store with 100 tenants alike, in SQL (recursive CTEs, the same in both dialects): 10
 * WhatsApp sessions each, 1,000 messages (a person's and its reply, in turn, every reply read in the
 * outbox; tenants interleaved, as time has them), 100 decided approvals (tenant 0 has one pending), a
 * year of daily usage; and 1,000 tenants (those and 900 more) with 100 memories each, sharing common
 * words with every other tenant's: at 100,000 entries Postgres' planner reached for the full-text
 * index. Postgres' autovacuum is off on them, so "without statistics" stays so until the test runs ANALYZE.
 */
export async function fillStore(db: Db, now: number): Promise<void> {
  const pg = db.dialect === "postgres";
  const pad = (x: string, n: number) => (pg ? `lpad((${x})::text, ${n}, '0')` : `printf('%0${n}d', ${x})`);
  const tid = (x: string) => `'t' || ${pad(x, 5)}`;
  const series = (n: number) => `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ${n - 1})`;
  if (pg)
    for (const tbl of [
      "os_messages",
      "os_outbox",
      "os_memories",
      "os_approvals",
      "os_usage",
      "os_sessions",
      "os_tenants",
    ])
      await db.run(`ALTER TABLE ${tbl} SET (autovacuum_enabled = false)`);
  await db.run(
    `${series(ALL)} INSERT INTO os_tenants (id, name, settings, created_at) SELECT ${tid("i")}, 'tenant', '{}', 0 FROM n`,
  );
  await db.run(
    `${series(T * SESSIONS)} INSERT INTO os_sessions (id, tenant_id, channel, conversation, created_at, updated_at)
     SELECT 'ses-' || ${tid(`i / ${SESSIONS}`)} || '-' || (i % ${SESSIONS}), ${tid(`i / ${SESSIONS}`)}, 'whatsapp',
       '+1555' || ${pad(`i / ${SESSIONS}`, 5)} || ${pad(`i % ${SESSIONS}`, 2)}, 0, 0 FROM n`,
  );
  // Pair k = g / 2: tenant k % T, session (k / T) % 10.
  const t = `((i / 2) % ${T})`;
  const s = `(((i / 2) / ${T}) % ${SESSIONS})`;
  await db.run(
    `${series(T * MESSAGES)} INSERT INTO os_messages (id, tenant_id, session_id, role, content, source_key, run_id, created_at)
     SELECT 'msg-' || i, ${tid(t)}, 'ses-' || ${tid(t)} || '-' || ${s}, CASE WHEN i % 2 = 0 THEN 'user' ELSE 'assistant' END,
       'message about the weather', CASE WHEN i % 2 = 0 THEN 'wa:' || (i / 2) ELSE 'reply:run-' || (i / 2) END, 'run-' || (i / 2), i
     FROM n ORDER BY i`,
  );
  await db.run(
    `${series(T * MESSAGES)} INSERT INTO os_outbox (tenant_id, key, part, channel, conversation, external_id, status, created_at, updated_at)
     SELECT ${tid(t)}, 'reply:run-' || (i / 2), 0, 'whatsapp', '+1555' || ${pad(t, 5)} || ${pad(s, 2)}, 'wamid.' || (i / 2), 'read', i, i
     FROM n WHERE i % 2 = 1`,
  );
  const text = "the meeting with the team about the project plan";
  await db.run(
    `${series(ALL * MEMORIES)} INSERT INTO os_memories (id, tenant_id, content, source, created_at)
     SELECT 'mem-' || i, ${tid(`i % ${ALL}`)}, 'note ' || i || ' ${text}', 'agent', i FROM n`,
  );
  if (!pg) {
    // SQLite's index holds each word with its tenant's tag in front (memory/query.ts).
    const tags = Array.from({ length: ALL }, (_, i) => `('${tenantId(i)}', '${ftsTag(tenantId(i))}')`).join(", ");
    await db.run(
      `WITH tag(tenant_id, tag) AS (VALUES ${tags})
       INSERT INTO os_memories_fts (rowid, terms) SELECT m.rid, tag.tag || replace(m.content, ' ', ' ' || tag.tag)
       FROM os_memories m JOIN tag ON tag.tenant_id = m.tenant_id`,
    );
  }
  await db.run(
    `${series(T * APPROVALS)} INSERT INTO os_approvals (id, tenant_id, run_id, session_id, tool, args, call_hash, code, status, created_at, expires_at)
     SELECT 'apr-' || i, ${tid(`i % ${T}`)}, 'run-' || i, NULL, 'http_request', '{}', 'h', ${pad("i", 6)},
       CASE WHEN i = 0 THEN 'pending' ELSE 'approved' END, i, ${now + DAY} FROM n`,
  );
  const days = Array.from(
    { length: DAYS },
    (_, d) => `(${d}, '${new Date(now - d * DAY).toISOString().slice(0, 10)}')`,
  );
  await db.run(
    `${series(T)}, d(back, day) AS (VALUES ${days.join(", ")})
     INSERT INTO os_usage (tenant_id, day, tokens, model_calls)
     SELECT ${tid("i")}, d.day, 1000 + i, 10 FROM n, d WHERE d.back > 0 OR i % 10 = 0`,
  );
}
