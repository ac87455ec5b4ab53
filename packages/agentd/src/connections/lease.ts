import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { AgentdError } from "../errors.ts";
import type { TenantScope } from "../tenancy/scope.ts";

export interface LeaseOptions {
  now: () => number;
  /** How long one holder may keep it: another process takes over after (a crash mid-refresh). */
  leaseMs?: number;
  /** How long a caller waits for another's lease before giving up. */
  waitMs?: number;
}

/**
 * Runs `fn` holding the lease `name` of the tenant (os_oauth_leases), one holder at a time across
 * every process sharing the store: taken by an upsert that only replaces an expired holder, given
 * back by its owner. A holder that dies leaves it to expire. Callers that find it held poll with
 * backoff; `fn` must check what the holder before it did (the lease says who acts, not what is due).
 */
export async function withLease<T>(
  scope: TenantScope,
  name: string,
  o: LeaseOptions,
  fn: () => Promise<T>,
): Promise<T> {
  const leaseMs = o.leaseMs ?? 30_000;
  const deadline = Date.now() + (o.waitMs ?? 20_000);
  const owner = randomUUID();
  for (let wait = 5; ; wait = Math.min(wait * 2, 200)) {
    const t = o.now();
    const { changes } = await scope.run(
      `INSERT INTO os_oauth_leases (tenant_id, name, owner, until) VALUES ($tenant, ?, ?, ?)
       ON CONFLICT (tenant_id, name) DO UPDATE SET owner = excluded.owner, until = excluded.until
       WHERE os_oauth_leases.until <= ?`,
      [name, owner, t + leaseMs, t],
    );
    if (changes > 0) break;
    if (Date.now() > deadline)
      throw new AgentdError("oauth_failed", `the authorization of ${name} is being refreshed elsewhere; try again`);
    await sleep(wait);
  }
  try {
    return await fn();
  } finally {
    await scope.run("DELETE FROM os_oauth_leases WHERE tenant_id = $tenant AND name = ? AND owner = ?", [name, owner]);
  }
}
