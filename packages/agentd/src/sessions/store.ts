import type { Attachment } from "../blobs/types.ts";
import { newId } from "../ids.ts";
import { notFound } from "../errors.ts";
import type { TenantScope } from "../tenancy/scope.ts";

/** Who said it: the person, the agent, or a background event (reminder, schedule, heartbeat) that starts a turn. */
export type Role = "user" | "assistant" | "event";

export interface Session {
  id: string;
  channel: string;
  conversation: string;
  summary: string;
  /** Messages up to this seq are folded into the summary. */
  summarizedSeq: number;
  createdAt: number;
  updatedAt: number;
}

export interface Message {
  seq: number;
  id: string;
  sessionId: string;
  role: Role;
  content: string;
  sourceKey: string | null;
  runId: string | null;
  createdAt: number;
  /** Photos, voice notes, documents sent with it (references into the blob store); absent when none. */
  attachments?: Attachment[];
}

export interface SessionRow {
  id: string;
  channel: string;
  conversation: string;
  summary: string;
  summarized_seq: number;
  created_at: number;
  updated_at: number;
}
export interface MessageRow {
  seq: number;
  id: string;
  session_id: string;
  role: Role;
  content: string;
  source_key: string | null;
  run_id: string | null;
  created_at: number;
  attachments?: string | null;
}

export const toSession = (r: SessionRow): Session => ({
  id: r.id,
  channel: r.channel,
  conversation: r.conversation,
  summary: r.summary,
  summarizedSeq: Number(r.summarized_seq),
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at),
});
export const toMessage = (r: MessageRow): Message => {
  const attachments = r.attachments ? (JSON.parse(r.attachments) as Attachment[]) : [];
  return {
    seq: Number(r.seq),
    id: r.id,
    sessionId: r.session_id,
    role: r.role,
    content: r.content,
    sourceKey: r.source_key,
    runId: r.run_id,
    createdAt: Number(r.created_at),
    ...(attachments.length > 0 ? { attachments } : {}),
  };
};

/**
 * The rows `recent` orders: the last `rows` of the session's messages up to `upto` and of the replies
 * stored after it (a reply to an earlier message can come after later messages; parameters:
 * `recentParams`). Two branches, each a walk of the session's index from its end that stops at `rows`,
 * merged: with `seq <= ? OR role = 'assistant'` in one filter Postgres could not bound the walk by the
 * index, and once chose, by its statistics, to read the whole session and sort it.
 */
export const RECENT = `SELECT * FROM (
 SELECT * FROM (SELECT * FROM os_messages WHERE tenant_id = $tenant AND session_id = ? AND seq <= ? ORDER BY seq DESC LIMIT ?) mine
 UNION ALL
 SELECT * FROM (SELECT * FROM os_messages WHERE tenant_id = $tenant AND session_id = ? AND seq > ? AND role = 'assistant' ORDER BY seq DESC LIMIT ?) later
) w ORDER BY seq DESC LIMIT ?`;

/** `RECENT`'s parameters: the session's last `rows` messages up to `upto`, replies after it included. */
export const recentParams = (sessionId: string, upto: number, rows: number): unknown[] => [
  sessionId,
  upto,
  rows,
  sessionId,
  upto,
  rows,
  rows,
];

/**
 * A row when a later message of the person's was answered (`answeredAfter`); parameters: the session
 * and the message's seq, twice. A reply comes after the message it answers (its turn starts once that
 * message is stored), so both are looked for among the messages after this one only.
 */
export const ANSWERED_AFTER = `SELECT 1 AS x FROM os_messages a WHERE a.tenant_id = $tenant AND a.session_id = ? AND a.seq > ? AND a.role = 'assistant'
  AND a.run_id IN (SELECT m.run_id FROM os_messages m WHERE m.tenant_id = $tenant AND m.session_id = ? AND m.seq > ? AND m.role = 'user') LIMIT 1`;

/** The last `limit` of `rows` as a turn sees them: each reply right after the message it answered. */
export function inTurnOrder(rows: Message[], limit: number): Message[] {
  const triggerSeq = new Map(rows.filter((m) => m.role !== "assistant" && m.runId).map((m) => [m.runId, m.seq]));
  const anchor = (m: Message) => (m.role === "assistant" && m.runId ? (triggerSeq.get(m.runId) ?? m.seq) : m.seq);
  rows.sort(
    (a, b) =>
      anchor(a) - anchor(b) || (a.role === "assistant" ? 1 : 0) - (b.role === "assistant" ? 1 : 0) || a.seq - b.seq,
  );
  return rows.slice(-limit);
}

/** Sessions and their messages, always through a tenant's scope. */
export const sessions = {
  /** The session of (channel, conversation), created on first use. */
  async open(scope: TenantScope, channel: string, conversation: string, now: number): Promise<Session> {
    const existing = await this.find(scope, channel, conversation);
    if (existing) return existing;
    await scope.run(
      "INSERT INTO os_sessions (id, tenant_id, channel, conversation, created_at, updated_at) VALUES (?, $tenant, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
      [newId("ses", now), channel, conversation, now, now],
    );
    return (await this.find(scope, channel, conversation)) as Session;
  },

  async find(scope: TenantScope, channel: string, conversation: string): Promise<Session | null> {
    const r = await scope.get<SessionRow>(
      "SELECT * FROM os_sessions WHERE tenant_id = $tenant AND channel = ? AND conversation = ?",
      [channel, conversation],
    );
    return r ? toSession(r) : null;
  },

  async get(scope: TenantScope, id: string): Promise<Session | null> {
    const r = await scope.get<SessionRow>("SELECT * FROM os_sessions WHERE tenant_id = $tenant AND id = ?", [id]);
    return r ? toSession(r) : null;
  },

  async require(scope: TenantScope, id: string): Promise<Session> {
    const s = await this.get(scope, id);
    if (!s) throw notFound(`session ${id}`);
    return s;
  },

  async list(scope: TenantScope, limit = 100): Promise<Session[]> {
    const rows = await scope.all<SessionRow>(
      "SELECT * FROM os_sessions WHERE tenant_id = $tenant ORDER BY updated_at DESC LIMIT ?",
      [limit],
    );
    return rows.map(toSession);
  },

  /** The tenant's most recently active session: where background results go when nothing else is named. */
  async latest(scope: TenantScope): Promise<Session | null> {
    return (await this.list(scope, 1))[0] ?? null;
  },

  /**
   * Appends a message once: a second append with the same source key (a redelivered webhook, a
   * replayed reply step) returns the first one, marked duplicate. `withNew` is a write made only when
   * the message is new, atomically with it: its rows come `FROM m`, the new message's row. The first
   * append is one round trip on Postgres (one statement inserts, touches the session, makes `withNew`'s
   * write and returns the row); SQLite, which cannot modify in a WITH, runs them in one transaction.
   * `alongside`: an SQL expression (scoped by `$tenant`, no parameters) that Postgres evaluates in the
   * same statement, returned in `alongside` when the message is new; absent on SQLite, where a read
   * of its own costs no round trip.
   */
  async append(
    scope: TenantScope,
    m: {
      sessionId: string;
      role: Role;
      content: string;
      sourceKey: string | null;
      runId?: string | null;
      attachments?: Attachment[];
    },
    now: number,
    withNew?: { sql: string; params: unknown[] },
    alongside?: string,
  ): Promise<{ message: Message; duplicate: boolean; alongside?: unknown }> {
    const id = newId("msg", now);
    const values = [
      id,
      m.sessionId,
      m.role,
      m.content,
      m.sourceKey,
      m.runId ?? null,
      now,
      m.attachments?.length ? JSON.stringify(m.attachments) : null,
    ];
    const insert =
      "INSERT INTO os_messages (id, tenant_id, session_id, role, content, source_key, run_id, created_at, attachments) VALUES (?, $tenant, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING *";
    const touch = "UPDATE os_sessions SET updated_at = ? WHERE tenant_id = $tenant AND id = ?";
    let row: (MessageRow & { alongside?: unknown }) | undefined;
    if (scope.dialect === "postgres")
      row = await scope.get<MessageRow>(
        `WITH m AS (${insert}), s AS (${touch} AND EXISTS (SELECT 1 FROM m))${withNew ? `, w AS (${withNew.sql})` : ""} SELECT *${alongside ? `, (${alongside}) AS alongside` : ""} FROM m`,
        [...values, now, m.sessionId, ...(withNew?.params ?? [])],
      );
    else if (!withNew) {
      row = await scope.get<MessageRow>(insert, values);
      if (row) await scope.run(touch, [now, m.sessionId]);
    } else
      row = await scope.tx(async (tx) => {
        const r = await tx.get<MessageRow>(insert, values);
        if (!r) return r;
        await tx.run(touch, [now, m.sessionId]);
        await tx.run(`WITH m AS (SELECT id FROM os_messages WHERE tenant_id = $tenant AND id = ?) ${withNew.sql}`, [
          id,
          ...withNew.params,
        ]);
        return r;
      });
    if (row)
      return {
        message: toMessage(row),
        duplicate: false,
        ...(row.alongside !== undefined ? { alongside: row.alongside } : {}),
      };
    // Only a source key can conflict (the id is new): the message is there already.
    const prior = m.sourceKey ? await this.bySource(scope, m.sessionId, m.sourceKey) : null;
    if (!prior) throw new Error(`message ${id} was neither inserted nor found by its source key`);
    return { message: prior, duplicate: true };
  },

  async bySource(scope: TenantScope, sessionId: string, sourceKey: string): Promise<Message | null> {
    const r = await scope.get<MessageRow>(
      "SELECT * FROM os_messages WHERE tenant_id = $tenant AND session_id = ? AND source_key = ?",
      [sessionId, sourceKey],
    );
    return r ? toMessage(r) : null;
  },

  async message(scope: TenantScope, id: string): Promise<Message | null> {
    const r = await scope.get<MessageRow>("SELECT * FROM os_messages WHERE tenant_id = $tenant AND id = ?", [id]);
    return r ? toMessage(r) : null;
  },

  /** The message's run recorded; with `admission` (tenancy/quotas.ts), that quota admission bound to the run in the same statement. */
  async setRun(scope: TenantScope, messageId: string, runId: string, admission?: string): Promise<void> {
    if (admission === undefined || scope.dialect === "sqlite") {
      if (admission !== undefined)
        await scope.run("UPDATE os_admissions SET run_id = ? WHERE tenant_id = $tenant AND id = ?", [runId, admission]);
      await scope.run("UPDATE os_messages SET run_id = ? WHERE tenant_id = $tenant AND id = ?", [runId, messageId]);
      return;
    }
    await scope.run(
      `WITH a AS (UPDATE os_admissions SET run_id = ? WHERE tenant_id = $tenant AND id = ?)
       UPDATE os_messages SET run_id = ? WHERE tenant_id = $tenant AND id = ?`,
      [runId, admission, runId, messageId],
    );
  },

  /**
   * True when a later message of the person's has been answered: its turn saw every message before it,
   * so a failed turn retried after that has nothing left to answer. (A reminder's turn answered its
   * reminder, not the person, so it does not count.)
   */
  async answeredAfter(scope: TenantScope, sessionId: string, seq: number): Promise<boolean> {
    const r = await scope.get<{ x: number }>(ANSWERED_AFTER, [sessionId, seq, sessionId, seq]);
    return r !== undefined && r !== null;
  },

  /**
   * The conversation as a turn sees it: the last `limit` messages up to its own (seq ≤ `upto`), each
   * earlier reply placed right after the message it answered, even when later messages arrived
   * first (they queue for their own turns and are not shown).
   */
  async recent(scope: TenantScope, sessionId: string, limit: number, upto: number | null = null): Promise<Message[]> {
    const rows = await scope.all<MessageRow>(
      RECENT,
      recentParams(sessionId, upto ?? Number.MAX_SAFE_INTEGER, limit * 2 + 1),
    );
    return inTurnOrder(rows.map(toMessage), limit);
  },

  /** Messages after `afterSeq` (for paging the history through the API). */
  async history(scope: TenantScope, sessionId: string, afterSeq = 0, limit = 100): Promise<Message[]> {
    const rows = await scope.all<MessageRow>(
      "SELECT * FROM os_messages WHERE tenant_id = $tenant AND session_id = ? AND seq > ? ORDER BY seq LIMIT ?",
      [sessionId, afterSeq, limit],
    );
    return rows.map(toMessage);
  },

  /** Messages not yet folded into the summary that are older than the `keep` most recent up to `upto`. */
  async leaving(scope: TenantScope, session: Session, keep: number, upto: number): Promise<Message[]> {
    const rows = await scope.all<MessageRow>(
      "SELECT * FROM os_messages WHERE tenant_id = $tenant AND session_id = ? AND seq > ? AND seq <= ? ORDER BY seq",
      [session.id, session.summarizedSeq, upto],
    );
    return rows.slice(0, Math.max(0, rows.length - keep)).map(toMessage);
  },

  /**
   * How many messages up to `upto` are not folded into the summary yet, counted up to `atMost`: the
   * caller asks whether there are more than some number, and a session never compacted may hold many.
   */
  async unsummarized(scope: TenantScope, session: Session, upto: number, atMost: number): Promise<number> {
    const r = await scope.get<{ n: number | string }>(
      `SELECT COUNT(*) AS n FROM (SELECT 1 AS x FROM os_messages WHERE tenant_id = $tenant AND session_id = ? AND seq > ? AND seq <= ?
       ORDER BY seq LIMIT ?) m`,
      [session.id, session.summarizedSeq, upto, atMost],
    );
    return Number(r?.n ?? 0);
  },

  /** Inbound messages that never got a turn (a crash between persisting and starting): started again on boot. */
  async unstarted(scope: TenantScope): Promise<Message[]> {
    const rows = await scope.all<MessageRow>(
      "SELECT * FROM os_messages WHERE tenant_id = $tenant AND role <> 'assistant' AND run_id IS NULL ORDER BY seq",
    );
    return rows.map(toMessage);
  },

  async saveSummary(
    scope: TenantScope,
    sessionId: string,
    summary: string,
    upToSeq: number,
    now: number,
  ): Promise<void> {
    // Only forward: a replayed compaction never rolls the summary back.
    await scope.run(
      "UPDATE os_sessions SET summary = ?, summarized_seq = ?, updated_at = ? WHERE tenant_id = $tenant AND id = ? AND summarized_seq < ?",
      [summary, upToSeq, now, sessionId, upToSeq],
    );
  },
};
