import type { Attachment } from "../blobs/types.ts";
import { newId } from "../ids.ts";
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
const OPEN_APPEND = `WITH f AS (SELECT * FROM os_sessions WHERE tenant_id = $tenant AND channel = ? AND conversation = ?),
 n AS (INSERT INTO os_sessions (id, tenant_id, channel, conversation, created_at, updated_at)
   SELECT ?, $tenant, ?, ?, ?::bigint, ?::bigint WHERE NOT EXISTS (SELECT 1 FROM f) ON CONFLICT DO NOTHING RETURNING *),
 s AS (SELECT * FROM f UNION ALL SELECT * FROM n),
 m AS (INSERT INTO os_messages (id, tenant_id, session_id, role, content, source_key, run_id, created_at, attachments)
   SELECT ?, $tenant, s.id, ?, ?, ?, NULL, ?::bigint, ? FROM s ON CONFLICT DO NOTHING RETURNING *),
 t AS (UPDATE os_sessions SET updated_at = ?::bigint WHERE tenant_id = $tenant AND id IN (SELECT id FROM f) AND EXISTS (SELECT 1 FROM m))
SELECT row_to_json(s) AS session, (SELECT row_to_json(m) FROM m) AS message FROM s`;

/** A person's message into the session of (channel, conversation), made on first use; deduplicated by its source key like `append`. */
export async function openAndAppend(
  scope: TenantScope,
  at: { channel: string; conversation: string },
  m: { role: Role; content: string; sourceKey: string | null; attachments?: Attachment[] },
  now: number,
): Promise<{ session: Session; message: Message; duplicate: boolean }> {
  if (scope.dialect === "postgres") {
    const id = newId("msg", now);
    const r = await scope.get<{ session: SessionRow; message: MessageRow | null }>(OPEN_APPEND, [
      at.channel,
      at.conversation,
      newId("ses", now),
      at.channel,
      at.conversation,
      now,
      now,
      id,
      m.role,
      m.content,
      m.sourceKey,
      now,
      m.attachments?.length ? JSON.stringify(m.attachments) : null,
      now,
    ]);
    if (r) {
      const session = toSession(r.session);
      if (r.message) return { session, message: toMessage(r.message), duplicate: false };
      // Only a source key can conflict (the id is new): the message is there already.
      const prior = m.sourceKey ? await sessions.bySource(scope, session.id, m.sourceKey) : null;
      if (!prior) throw new Error(`message ${id} was neither inserted nor found by its source key`);
      return { session, message: prior, duplicate: true };
    }
  }
  const session = await sessions.open(scope, at.channel, at.conversation, now);
  return { session, ...(await sessions.append(scope, { sessionId: session.id, ...m }, now)) };
}
