import { randomUUID } from "node:crypto";
import { serializeTenant } from "./lock.ts";
import { OsError } from "./errors.ts";
import type { TenantScope } from "./scope.ts";

const WINDOW_S = 60;
/** An admission not released by then was left by a process that died between admitting and starting. */
const ADMISSION_TTL_MS = 30_000;

export interface QuotaLimits {
  runsPerMinute: number;
  concurrentRuns: number;
}

/**
 * Per-tenant quotas on starting runs, counted in the OS data store so that they hold across
 * processes and restarts: runs started per minute (per-second counts over the last 60 seconds),
 * and runs in progress (the kernel's count, plus admissions whose run may not be visible yet).
 * Checks and counts happen under the tenant's lock, so two processes cannot both take the last slot.
 */
export const quotas = {
  /**
   * Admits one run start or throws a 429 OsError (`retryAfterS` set for rate limits). `inFlight`
   * counts the tenant's runs in progress in the kernel's store. Release the admission once the run
   * is started (or failed to start): from then on the kernel counts it.
   */
  async admit(scope: TenantScope, limits: QuotaLimits, now: number, inFlight: () => Promise<number>): Promise<{ id: string; release(): Promise<void> }> {
    const second = Math.floor(now / 1000);
    const id = randomUUID();
    await scope.tx(async (tx) => {
      await serializeTenant(tx);
      await tx.run("DELETE FROM os_rate WHERE tenant_id = $tenant AND second <= ?", [second - WINDOW_S]);
      await tx.run("DELETE FROM os_admissions WHERE tenant_id = $tenant AND at <= ?", [now - ADMISSION_TTL_MS]);
      const hits = await tx.all<{ second: number; n: number }>("SELECT second, n FROM os_rate WHERE tenant_id = $tenant ORDER BY second", []);
      let total = hits.reduce((s, h) => s + Number(h.n), 0);
      if (total >= limits.runsPerMinute)
        for (const h of hits) {
          total -= Number(h.n);
          if (total < limits.runsPerMinute) throw rateLimited(limits.runsPerMinute, Math.max(1, Math.ceil(((Number(h.second) + WINDOW_S) * 1000 - now) / 1000)));
        }
      const admitted = await tx.get<{ n: number }>("SELECT COUNT(*) AS n FROM os_admissions WHERE tenant_id = $tenant", []);
      const busy = (await inFlight()) + Number(admitted?.n ?? 0);
      if (busy >= limits.concurrentRuns)
        throw new OsError(429, "too_many_runs", `this tenant has ${busy} runs in progress, the most it may (its concurrentRuns setting is ${limits.concurrentRuns}); try again when one has finished`);
      await tx.run(
        "INSERT INTO os_rate (tenant_id, second, n) VALUES ($tenant, ?, 1) ON CONFLICT (tenant_id, second) DO UPDATE SET n = os_rate.n + 1", [second],
      );
      await tx.run("INSERT INTO os_admissions (id, tenant_id, at) VALUES (?, $tenant, ?)", [id, now]);
    });
    return { id, release: async () => void (await scope.run("DELETE FROM os_admissions WHERE tenant_id = $tenant AND id = ?", [id])) };
  },
};

export class RateLimitedError extends OsError {
  readonly retryAfterS: number;
  constructor(limit: number, retryAfterS: number) {
    super(429, "rate_limited", `this tenant may send ${limit} messages a minute (its runsPerMinute setting); try again in ${retryAfterS} s`);
    this.retryAfterS = retryAfterS;
  }
}

const rateLimited = (limit: number, retryAfterS: number) => new RateLimitedError(limit, retryAfterS);
