import { randomUUID } from "node:crypto";
import { AgentdError, notFound } from "../errors.ts";
import type { TenantScope } from "./scope.ts";
import { TenantSettings } from "./settings.ts";

const WINDOW_S = 60;
/** An admission still without its run by then was left by a process that died before starting it. */
const ADMISSION_TTL_MS = 30_000;
/** Passes over the store before a refusal stands: the first counts every admission busy; the next ones know the phases of those it named. */
const PASSES = 3;

export interface QuotaLimits {
  runsPerMinute: number;
  concurrentRuns: number;
}

/** Where a run is, as the kernel's store says: pending or running, waiting (suspended), or ended (or unknown). */
export type RunPhase = "active" | "waiting" | "ended";

/** An admitted start: bind it to the run once started (or let `sessions.setRun` do it), or drop it when the start failed. */
export interface Admission {
  readonly id: string;
  bind(runId: string): Promise<void>;
  drop(): Promise<void>;
}

/**
 * What one pass decided, with the limits it applied: admitted, over the minute's limit (its counted
 * seconds), too many runs busy (the bound ones named), or no such tenant.
 */
type Verdict = { limits: QuotaLimits } & (
  | { ok: true }
  | { hits: { second: number; n: number }[] }
  | { busy: number; runs: string[] }
);

/** The limits of a tenant whose settings name none. */
const DEFAULTS: QuotaLimits = TenantSettings.pick({ runsPerMinute: true, concurrentRuns: true }).parse({});

interface Pass {
  id: string;
  now: number;
  /** "stored": the tenant's settings, read under its lock (a change made meanwhile is seen, and no read comes first). */
  limits: QuotaLimits | "stored";
  /** Runs the kernel said ended (their admissions go) or wait for something (they take no place). */
  ended: string[];
  waiting: string[];
}

/**
 * Per-tenant quotas on starting runs, counted in the OS data store so that they hold across
 * processes and restarts: runs started per minute (per-second counts over the last 60 seconds),
 * and runs in progress (each admission is kept, bound to its run, until the kernel says the run
 * ended). Checked and counted under the tenant's lock, so two processes cannot both take the last
 * place, and a run is never counted twice.
 *
 * The kernel is asked only when it matters: a pass counts every admission as busy, which can only
 * over-count, so below the limit it admits at once (one statement on Postgres). At the limit it names
 * the bound runs; their phases are read at once, and the next pass removes the ended ones' admissions
 * and leaves the waiting ones uncounted. A phase can change right after it is read whether or not the
 * tenant is locked (the kernel does not take this lock), so reading it before the pass loses nothing.
 */
export const quotas = {
  /**
   * Postgres: the first pass of `admit` as an expression (a json verdict) for another statement to
   * evaluate before its writes, as receive's does (sessions/receive.ts): a message admitted in the
   * round trip that stores it. Give `admit` the verdict when it did not admit.
   */
  firstPass(now: number, limits: QuotaLimits | "stored"): { id: string; sql: string; params: unknown[] } {
    const id = randomUUID();
    return { id, ...call({ id, now, limits, ended: [], waiting: [] }) };
  },

  /** Removes an admission whose run did not start (also one made by `firstPass`'s statement). */
  async drop(scope: TenantScope, id: string): Promise<void> {
    await scope.run("DELETE FROM os_admissions WHERE tenant_id = $tenant AND id = ?", [id]);
  },

  /** Admits one run start or throws a too_many_runs AgentdError (or a RateLimitedError with `retryAfterS` for the per-minute limit). */
  async admit(
    scope: TenantScope,
    limits: QuotaLimits | "stored",
    now: number,
    phaseOf: (runId: string) => Promise<RunPhase>,
    first?: FirstPass,
  ): Promise<Admission> {
    const pass: Pass = { id: first?.id ?? randomUUID(), now, limits, ended: [], waiting: [] };
    const known = new Set<string>();
    for (let i = 1; ; i++) {
      const given = i === 1 && typeof first?.verdict === "object" && first.verdict !== null;
      const v = given ? (first?.verdict as Verdict | { missing: true }) : await admitPass(scope, pass);
      if ("missing" in v) throw notFound(`tenant ${scope.tenantId}`);
      if ("ok" in v) return admission(scope, pass.id);
      if ("hits" in v) throw rateLimited(v.hits, v.limits.runsPerMinute, now);
      const unknown = v.runs.filter((r) => !known.has(r));
      if (unknown.length === 0 || i === PASSES)
        throw new AgentdError(
          "too_many_runs",
          `this tenant has ${v.busy} runs in progress, the most it may (its concurrentRuns setting is ${v.limits.concurrentRuns}); try again when one has finished`,
        );
      const phases = await Promise.all(unknown.map(phaseOf));
      unknown.forEach((r, k) => {
        known.add(r);
        if (phases[k] === "ended") pass.ended.push(r);
        else if (phases[k] === "waiting") pass.waiting.push(r);
      });
    }
  },
};

function admission(scope: TenantScope, id: string): Admission {
  return {
    id,
    bind: async (runId) =>
      void (await scope.run("UPDATE os_admissions SET run_id = ? WHERE tenant_id = $tenant AND id = ?", [runId, id])),
    drop: () => quotas.drop(scope, id),
  };
}

/** Over the minute's limit: the oldest counted seconds leave the window first; retry when enough have. */
function rateLimited(hits: { second: number; n: number }[], limit: number, now: number): RateLimitedError {
  let total = hits.reduce((s, h) => s + Number(h.n), 0);
  for (const h of hits) {
    total -= Number(h.n);
    if (total < limit)
      return new RateLimitedError(limit, Math.max(1, Math.ceil(((Number(h.second) + WINDOW_S) * 1000 - now) / 1000)));
  }
  return new RateLimitedError(limit, WINDOW_S);
}

/** A first pass made by another statement: the admission's id and the verdict it returned. */
export interface FirstPass {
  id: string;
  verdict: unknown;
}

/** The call of the function `os_admit` (migration 17) for a pass. */
function call(p: Pass): { sql: string; params: unknown[] } {
  const second = Math.floor(p.now / 1000);
  const given = p.limits === "stored" ? DEFAULTS : p.limits;
  return {
    sql: "os_admit($tenant, ?, ?::bigint, ?::bigint, ?::bigint, ?::bigint, ?::boolean, ?::bigint, ?::bigint, ?::text[], ?::text[])",
    params: [
      p.id,
      p.now,
      second,
      second - WINDOW_S,
      p.now - ADMISSION_TTL_MS,
      p.limits === "stored",
      given.runsPerMinute,
      given.concurrentRuns,
      p.ended,
      p.waiting,
    ],
  };
}

/** Whether a verdict of `os_admit` admitted. */
export const admitted = (verdict: unknown): boolean =>
  typeof verdict === "object" && verdict !== null && "ok" in verdict;

/**
 * One pass under the tenant's lock. Postgres: the function `os_admit` (migration 17), one round trip;
 * each statement in it reads a snapshot of its own start, so after the lock it sees what the
 * transaction that held the lock before committed. SQLite: the same steps in an IMMEDIATE transaction.
 */
async function admitPass(scope: TenantScope, p: Pass): Promise<Verdict | { missing: true }> {
  const second = Math.floor(p.now / 1000);
  const since = second - WINDOW_S;
  const stale = p.now - ADMISSION_TTL_MS;
  const given = p.limits === "stored" ? DEFAULTS : p.limits;
  if (scope.dialect === "postgres") {
    const c = call(p);
    const r = await scope.get<{ v: Verdict | { missing: true } }>(`SELECT ${c.sql} AS v`, c.params);
    if (!r) throw new Error("os_admit returned no row");
    return r.v;
  }
  return scope.tx(async (tx) => {
    let limits = given;
    if (p.limits === "stored") {
      const t = await tx.get<{ settings: string }>("SELECT settings FROM os_tenants WHERE id = $tenant");
      if (!t) return { missing: true };
      const s = JSON.parse(t.settings) as Partial<QuotaLimits>;
      limits = {
        runsPerMinute: s.runsPerMinute ?? given.runsPerMinute,
        concurrentRuns: s.concurrentRuns ?? given.concurrentRuns,
      };
    }
    const hits = await tx.all<{ second: number; n: number }>(
      "SELECT second, n FROM os_rate WHERE tenant_id = $tenant AND second > ? ORDER BY second",
      [since],
    );
    if (hits.reduce((s, h) => s + Number(h.n), 0) >= limits.runsPerMinute) return { limits, hits };
    await tx.run("DELETE FROM os_admissions WHERE tenant_id = $tenant AND run_id IS NULL AND at <= ?", [stale]);
    for (const run of p.ended)
      await tx.run("DELETE FROM os_admissions WHERE tenant_id = $tenant AND run_id = ?", [run]);
    const left = await tx.all<{ run_id: string | null }>("SELECT run_id FROM os_admissions WHERE tenant_id = $tenant");
    const busy = left.filter((a) => a.run_id === null || !p.waiting.includes(a.run_id));
    if (busy.length >= limits.concurrentRuns)
      return { limits, busy: busy.length, runs: busy.flatMap((a) => (a.run_id === null ? [] : [a.run_id])) };
    await tx.run("DELETE FROM os_rate WHERE tenant_id = $tenant AND second <= ?", [since]);
    await tx.run(
      "INSERT INTO os_rate (tenant_id, second, n) VALUES ($tenant, ?, 1) ON CONFLICT (tenant_id, second) DO UPDATE SET n = os_rate.n + 1",
      [second],
    );
    await tx.run("INSERT INTO os_admissions (id, tenant_id, at) VALUES (?, $tenant, ?)", [p.id, p.now]);
    return { limits, ok: true };
  });
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
