import { randomUUID } from "node:crypto";
import { AgentdError } from "../errors.ts";
import { serializeTenant } from "./lock.ts";
import type { TenantScope } from "./scope.ts";

const WINDOW_S = 60;
/** An admission still without its run by then was left by a process that died before starting it. */
const ADMISSION_TTL_MS = 30_000;

export interface QuotaLimits {
  runsPerMinute: number;
  concurrentRuns: number;
}

/** Where a run is, as the kernel's store says: pending or running, waiting (suspended), or ended (or unknown). */
export type RunPhase = "active" | "waiting" | "ended";

/** An admitted start: bind it to the run once started, or drop it when the start failed. */
export interface Admission {
  bind(runId: string): Promise<void>;
  drop(): Promise<void>;
}

/**
 * Per-tenant quotas on starting runs, counted in the OS data store so that they hold across
 * processes and restarts: runs started per minute (per-second counts over the last 60 seconds),
 * and runs in progress (each admission is kept, bound to its run, until the kernel says the run
 * ended). Checked and counted under the tenant's lock, so two processes cannot both take the last
 * place, and a run is never counted twice.
 */
export const quotas = {
  /** Admits one run start or throws a too_many_runs AgentdError (or a RateLimitedError with `retryAfterS` for the per-minute limit). */
  async admit(
    scope: TenantScope,
    limits: QuotaLimits,
    now: number,
    phaseOf: (runId: string) => Promise<RunPhase>,
  ): Promise<Admission> {
    const second = Math.floor(now / 1000);
    const id = randomUUID();
    await scope.tx(async (tx) => {
      await serializeTenant(tx);
      // Its own statement after the lock: a statement reads the snapshot of its start, so reads joined to
      // the lock's statement would miss what the transaction that held the lock before us committed.
      // What the prunes below remove is left out here, so both counts are as if pruned first.
      const rows = await tx.all<{ kind: string; second: number; n: number; id: string; run_id: string | null }>(
        `SELECT 'rate' AS kind, second, n, NULL AS id, NULL AS run_id FROM os_rate WHERE tenant_id = $tenant AND second > ?
         UNION ALL SELECT 'admission', NULL, NULL, id, run_id FROM os_admissions
           WHERE tenant_id = $tenant AND (run_id IS NOT NULL OR at > ?)
         ORDER BY kind, second`,
        [second - WINDOW_S, now - ADMISSION_TTL_MS],
      );
      const hits = rows.filter((r) => r.kind === "rate");
      let total = hits.reduce((s, h) => s + Number(h.n), 0);
      if (total >= limits.runsPerMinute)
        for (const h of hits) {
          total -= Number(h.n);
          if (total < limits.runsPerMinute)
            throw new RateLimitedError(
              limits.runsPerMinute,
              Math.max(1, Math.ceil(((Number(h.second) + WINDOW_S) * 1000 - now) / 1000)),
            );
        }
      const admitted = rows.filter((r) => r.kind === "admission");
      // All at once: each is a read of the kernel's store, made while this transaction holds the tenant.
      const phases = await Promise.all(admitted.map((a) => (a.run_id === null ? "active" : phaseOf(a.run_id))));
      const busy = phases.filter((p) => p === "active").length;
      if (busy >= limits.concurrentRuns)
        throw new AgentdError(
          "too_many_runs",
          `this tenant has ${busy} runs in progress, the most it may (its concurrentRuns setting is ${limits.concurrentRuns}); try again when one has finished`,
        );
      const ended = admitted.filter((_, i) => phases[i] === "ended").map((a) => a.id);
      await record(tx, { second, now, id, ended });
    });
    return {
      bind: async (runId) =>
        void (await scope.run("UPDATE os_admissions SET run_id = ? WHERE tenant_id = $tenant AND id = ?", [runId, id])),
      drop: async () => void (await scope.run("DELETE FROM os_admissions WHERE tenant_id = $tenant AND id = ?", [id])),
    };
  },
};

/**
 * The prunes (minutes gone, admissions never started, runs ended) and the admission counted. Only
 * once admitted: a refusal rolls back, so it would undo them. Postgres in one statement (one round
 * trip); SQLite cannot modify inside a WITH, and its statements cost no round trip.
 */
async function record(tx: TenantScope, a: { second: number; now: number; id: string; ended: string[] }): Promise<void> {
  if (tx.dialect === "postgres") {
    await tx.run(
      `WITH aged AS (DELETE FROM os_rate WHERE tenant_id = $tenant AND second <= ?),
         gone AS (DELETE FROM os_admissions WHERE tenant_id = $tenant AND ((run_id IS NULL AND at <= ?) OR id = ANY(?::text[]))),
         counted AS (INSERT INTO os_rate (tenant_id, second, n) VALUES ($tenant, ?, 1)
           ON CONFLICT (tenant_id, second) DO UPDATE SET n = os_rate.n + 1)
       INSERT INTO os_admissions (id, tenant_id, at) VALUES (?, $tenant, ?)`,
      [a.second - WINDOW_S, a.now - ADMISSION_TTL_MS, a.ended, a.second, a.id, a.now],
    );
    return;
  }
  await tx.run("DELETE FROM os_rate WHERE tenant_id = $tenant AND second <= ?", [a.second - WINDOW_S]);
  await tx.run("DELETE FROM os_admissions WHERE tenant_id = $tenant AND run_id IS NULL AND at <= ?", [
    a.now - ADMISSION_TTL_MS,
  ]);
  for (const id of a.ended) await tx.run("DELETE FROM os_admissions WHERE tenant_id = $tenant AND id = ?", [id]);
  await tx.run(
    "INSERT INTO os_rate (tenant_id, second, n) VALUES ($tenant, ?, 1) ON CONFLICT (tenant_id, second) DO UPDATE SET n = os_rate.n + 1",
    [a.second],
  );
  await tx.run("INSERT INTO os_admissions (id, tenant_id, at) VALUES (?, $tenant, ?)", [a.id, a.now]);
}

/** Over the per-minute limit: `retryAfterS` is when the oldest counted start leaves the window. */
export class RateLimitedError extends AgentdError<"rate_limited"> {
  readonly retryAfterS: number;
  constructor(limit: number, retryAfterS: number) {
    super(
      "rate_limited",
      `this tenant may send ${limit} messages a minute (its runsPerMinute setting); try again in ${retryAfterS} s`,
    );
    this.retryAfterS = retryAfterS;
  }
}
