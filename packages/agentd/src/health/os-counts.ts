import type { Db } from "../db/index.ts";

/** The OS store's figures /metrics reports, all tenants together. */
export interface OsCounts {
  tenants: number;
  /** Today's (UTC) model tokens and calls. */
  tokens: number;
  modelCalls: number;
  pendingApprovals: number;
}

export const utcDay = (now: number) => new Date(now).toISOString().slice(0, 10);

export async function osCounts(db: Db, now: number): Promise<OsCounts> {
  const n = async (sql: string, params: unknown[] = []) =>
    Number((await db.get<{ n: number | string | null }>(sql, params))?.n ?? 0);
  // Each reads what it counts through an index (schema 15): today's usage rows, the approvals waiting.
  const usage = await db.get<{ tokens: number | string | null; calls: number | string | null }>(
    "SELECT SUM(tokens) AS tokens, SUM(model_calls) AS calls FROM os_usage WHERE day = ?",
    [utcDay(now)],
  );
  return {
    tenants: await n("SELECT COUNT(*) AS n FROM os_tenants"),
    tokens: Number(usage?.tokens ?? 0),
    modelCalls: Number(usage?.calls ?? 0),
    pendingApprovals: await n("SELECT COUNT(*) AS n FROM os_approvals WHERE status = 'pending'"),
  };
}
