import { notFound } from "../errors.ts";
import type { TenantScope } from "../tenancy/scope.ts";
import { type Tenant, type TenantRow, toTenant } from "../tenancy/tenants.ts";
import {
  ANSWERED_AFTER,
  inTurnOrder,
  type Message,
  type MessageRow,
  RECENT,
  recentParams,
  type Session,
  type SessionRow,
  sessions,
  toMessage,
  toSession,
} from "./store.ts";

/** What a turn reads of its session when it starts. */
export interface TurnView {
  /** The turn's tenant, read along on Postgres (null: not found, or SQLite, where the caller reads it). */
  tenant: Tenant | null;
  session: Session;
  /** The conversation as the turn sees it (`sessions.recent`). */
  history: Message[];
  /** A later message of the person's was answered already (`sessions.answeredAfter`). */
  answeredAfter: boolean;
  /** Messages not folded into the summary, counted up to `atMost` (`sessions.unsummarized`). */
  unsummarized: number;
  /**
   * Tokens the tenant used on the day of `now` (UTC, the day `usage.ts` counts by), read along on
   * Postgres; null on SQLite, where the caller reads it only when the tenant has a budget.
   */
  usedToday: number | null;
  /** The values of the `prefetch` expressions asked, by name (Postgres); null on SQLite, where each reader reads its own. */
  prefetched: Map<string, unknown> | null;
}

/**
 * Postgres: the reads of `turnView` in one statement, one snapshot. Unsummarized messages are those
 * after the session's own `summarized_seq`, read in the same statement rather than before it.
 */
const TURN_VIEW = `SELECT
 (SELECT row_to_json(o) FROM os_tenants o WHERE o.id = $tenant) AS tenant,
 (SELECT row_to_json(s) FROM os_sessions s WHERE s.tenant_id = $tenant AND s.id = ?) AS session,
 (SELECT coalesce(json_agg(r), '[]'::json) FROM (${RECENT}) r) AS recent,
 EXISTS (${ANSWERED_AFTER}) AS answered,
 (SELECT COUNT(*) FROM (SELECT 1 AS x FROM os_messages u WHERE u.tenant_id = $tenant AND u.session_id = ?
   AND u.seq > (SELECT summarized_seq FROM os_sessions WHERE tenant_id = $tenant AND id = ?) AND u.seq <= ? ORDER BY u.seq LIMIT ?) c) AS unsummarized,
 (SELECT tokens FROM os_usage WHERE tenant_id = $tenant AND day = ?) AS used`;

/**
 * A turn's tenant (Postgres), its session, its history up to message `upto` (the last `window`), whether a later message
 * was answered, how many messages wait to be summarized (up to `atMost`) and the tenant's tokens
 * today: one round trip on Postgres, with the `prefetch` expressions (by name; scoped by `$tenant`, no
 * parameters) read along; SQLite, in process, runs the statements one by one.
 */
export async function turnView(
  scope: TenantScope,
  q: { sessionId: string; upto: number; window: number; atMost: number; now: number },
  prefetch: ReadonlyMap<string, string> = new Map(),
): Promise<TurnView> {
  if (scope.dialect === "postgres") {
    const day = new Date(q.now).toISOString().slice(0, 10);
    const more = [...prefetch];
    const r = await scope.get<
      Record<string, unknown> & {
        tenant: TenantRow | null;
        session: SessionRow | null;
        recent: MessageRow[];
        answered: boolean;
        unsummarized: number | string;
        used: number | string | null;
      }
    >(TURN_VIEW + more.map(([, sql], i) => `,\n (${sql}) AS p${i}`).join(""), [
      q.sessionId,
      ...recentParams(q.sessionId, q.upto, q.window * 2 + 1),
      q.sessionId,
      q.upto,
      q.sessionId,
      q.upto,
      q.sessionId,
      q.sessionId,
      q.upto,
      q.atMost,
      day,
    ]);
    if (!r?.session) throw notFound(`session ${q.sessionId}`);
    return {
      tenant: r.tenant ? toTenant(r.tenant) : null,
      session: toSession(r.session),
      history: inTurnOrder(r.recent.map(toMessage), q.window),
      answeredAfter: r.answered,
      unsummarized: Number(r.unsummarized),
      usedToday: Number(r.used ?? 0),
      prefetched: new Map(more.map(([name], i) => [name, r[`p${i}`]])),
    };
  }
  const session = await sessions.require(scope, q.sessionId);
  return {
    tenant: null,
    session,
    history: await sessions.recent(scope, q.sessionId, q.window, q.upto),
    answeredAfter: await sessions.answeredAfter(scope, q.sessionId, q.upto),
    unsummarized: await sessions.unsummarized(scope, session, q.upto, q.atMost),
    usedToday: null,
    prefetched: null,
  };
}
