import type { Attachment } from "../blobs/types.ts";
import { newId } from "../ids.ts";
import { admitted } from "../tenancy/quotas.ts";
import type { TenantScope } from "../tenancy/scope.ts";
import {
  type Message,
  type MessageRow,
  type Role,
  type Session,
  type SessionRow,
  sessions,
  toMessage,
  toSession,
} from "./store.ts";

/**
 * Postgres: the session of (channel, conversation), made on first use, and the message appended to
 * it, in one statement (a round trip fewer before a turn starts). The session is found (`f`) or
 * inserted (`n`); the message goes into whichever it is, and touches the found one's `updated_at`
 * only when it is new, as `append` does. A second first message of a new conversation racing this
 * one makes `n` insert nothing: no row comes back, and the caller takes the two-statement path.
 */
const OPEN_APPEND = openAppend(null);

/**
 * The statement, with (`admit`) a quota admission's first pass evaluated before its writes (a json
 * verdict, tenancy/quotas.ts): the session is made and the message inserted only when it admitted,
 * so a message and its admission cost one round trip, and a refused one stores nothing.
 */
function openAppend(admit: string | null): string {
  const when = admit ? " AND EXISTS (SELECT 1 FROM ok)" : "";
  return `WITH ${admit ? `q AS MATERIALIZED (SELECT ${admit} AS v), ok AS (SELECT 1 FROM q WHERE (q.v->>'ok') IS NOT NULL),\n ` : ""}f AS (SELECT * FROM os_sessions WHERE tenant_id = $tenant AND channel = ? AND conversation = ?),
 n AS (INSERT INTO os_sessions (id, tenant_id, channel, conversation, created_at, updated_at)
   SELECT ?, $tenant, ?, ?, ?::bigint, ?::bigint WHERE NOT EXISTS (SELECT 1 FROM f)${when} ON CONFLICT DO NOTHING RETURNING *),
 s AS (SELECT * FROM f UNION ALL SELECT * FROM n),
 m AS (INSERT INTO os_messages (id, tenant_id, session_id, role, content, source_key, run_id, created_at, attachments)
   SELECT ?, $tenant, s.id, ?, ?, ?, NULL, ?::bigint, ? FROM s WHERE TRUE${when} ON CONFLICT DO NOTHING RETURNING *),
 t AS (UPDATE os_sessions SET updated_at = ?::bigint WHERE tenant_id = $tenant AND id IN (SELECT id FROM f) AND EXISTS (SELECT 1 FROM m))
${admit ? "SELECT q.v AS verdict, (SELECT row_to_json(s) FROM s) AS session, (SELECT row_to_json(m) FROM m) AS message FROM q" : "SELECT row_to_json(s) AS session, (SELECT row_to_json(m) FROM m) AS message FROM s"}`;
}

type Appended = { session: Session; message: Message; duplicate: boolean };

/** A person's message into the session of (channel, conversation), made on first use; deduplicated by its source key like `append`. */
export async function openAndAppend(
  scope: TenantScope,
  at: { channel: string; conversation: string },
  m: { role: Role; content: string; sourceKey: string | null; attachments?: Attachment[] },
  now: number,
): Promise<Appended> {
  if (scope.dialect === "postgres") {
    const r = await scope.get<{ session: SessionRow | null; message: MessageRow | null }>(
      OPEN_APPEND,
      params(at, m, now),
    );
    if (r?.session) return appended(scope, r.session, r.message, m.sourceKey);
  }
  return twoStatements(scope, at, m, now);
}

/**
 * Postgres: `openAndAppend` with a quota admission's first pass in the same statement (`admit`, from
 * `quotas.firstPass`). Not admitted: nothing stored, and the pass's verdict for `quotas.admit` to go on from.
 */
export async function openAndAppendAdmitted(
  scope: TenantScope,
  at: { channel: string; conversation: string },
  m: { role: Role; content: string; sourceKey: string | null; attachments?: Attachment[] },
  now: number,
  admit: { sql: string; params: unknown[] },
): Promise<Appended | { refused: unknown }> {
  const r = await scope.get<{ verdict: unknown; session: SessionRow | null; message: MessageRow | null }>(
    openAppend(admit.sql),
    [...admit.params, ...params(at, m, now)],
  );
  if (!r || !admitted(r.verdict)) return { refused: r?.verdict ?? null };
  // Admitted, but a first message of the conversation racing this one made its session: the admission stands.
  if (r.session) return appended(scope, r.session, r.message, m.sourceKey);
  return twoStatements(scope, at, m, now);
}

function params(
  at: { channel: string; conversation: string },
  m: { role: Role; content: string; sourceKey: string | null; attachments?: Attachment[] },
  now: number,
): unknown[] {
  return [
    at.channel,
    at.conversation,
    newId("ses", now),
    at.channel,
    at.conversation,
    now,
    now,
    newId("msg", now),
    m.role,
    m.content,
    m.sourceKey,
    now,
    m.attachments?.length ? JSON.stringify(m.attachments) : null,
    now,
  ];
}

async function appended(
  scope: TenantScope,
  row: SessionRow,
  message: MessageRow | null,
  sourceKey: string | null,
): Promise<Appended> {
  const session = toSession(row);
  if (message) return { session, message: toMessage(message), duplicate: false };
  // Only a source key can conflict (the id is new): the message is there already.
  const prior = sourceKey ? await sessions.bySource(scope, session.id, sourceKey) : null;
  if (!prior) throw new Error(`a message of session ${session.id} was neither inserted nor found by its source key`);
  return { session, message: prior, duplicate: true };
}

async function twoStatements(
  scope: TenantScope,
  at: { channel: string; conversation: string },
  m: { role: Role; content: string; sourceKey: string | null; attachments?: Attachment[] },
  now: number,
): Promise<Appended> {
  const session = await sessions.open(scope, at.channel, at.conversation, now);
  return { session, ...(await sessions.append(scope, { sessionId: session.id, ...m }, now)) };
}
