import type { TenantScope } from "../tenancy/scope.ts";

const day = (now: number) => new Date(now).toISOString().slice(0, 10);

/**
 * A model call's tokens as a write made together with the row `m` of another statement (one row: one
 * call counted, none: nothing): the reply that answers with the call counts it in its own write.
 */
export function usageWith(tokens: number, now: number): { sql: string; params: unknown[] } {
  return {
    // WHERE true: SQLite reads ON CONFLICT after a bare FROM as a join's constraint.
    sql: `INSERT INTO os_usage (tenant_id, day, tokens, model_calls) SELECT $tenant, ?, ?, 1 FROM m WHERE true
     ON CONFLICT (tenant_id, day) DO UPDATE SET tokens = os_usage.tokens + excluded.tokens, model_calls = os_usage.model_calls + 1`,
    params: [day(now), tokens],
  };
}

/** Counts a model call's tokens against the tenant's day (UTC). */
export async function addUsage(scope: TenantScope, tokens: number, now: number): Promise<void> {
  await scope.run(
    `INSERT INTO os_usage (tenant_id, day, tokens, model_calls) VALUES ($tenant, ?, ?, 1)
     ON CONFLICT (tenant_id, day) DO UPDATE SET tokens = os_usage.tokens + excluded.tokens, model_calls = os_usage.model_calls + 1`,
    [day(now), tokens],
  );
}

export async function usageOn(scope: TenantScope, now: number): Promise<{ tokens: number; modelCalls: number }> {
  const r = await scope.get<{ tokens: number; model_calls: number }>(
    "SELECT tokens, model_calls FROM os_usage WHERE tenant_id = $tenant AND day = ?",
    [day(now)],
  );
  return { tokens: Number(r?.tokens ?? 0), modelCalls: Number(r?.model_calls ?? 0) };
}
