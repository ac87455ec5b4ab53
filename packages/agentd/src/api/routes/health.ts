import { Hono } from "hono";
import type { Agentd } from "../../app.ts";
import { osCounts } from "../../health/os-counts.ts";
import { healthReport, liveWindowMs } from "../../health/report.ts";
import pkg from "../../../package.json" with { type: "json" };
import type { AuthThrottle } from "../auth-throttle.ts";
import { adminAsks, authenticate, requireAdmin } from "../auth.ts";
import type { ApiEnv } from "../env.ts";

export const VERSION: string = pkg.version;

/**
 * GET /health and GET /metrics (admin, Prometheus text format). Without a token /health says only
 * whether agentd is up: what it runs on, and where its model lives, are the operator's to see (the
 * model's base URL may carry credentials). With the admin token it says what, and why.
 */
export function healthRoutes(app: Agentd, throttle: AuthThrottle) {
  return new Hono<ApiEnv>()
    .get("/health", async (c) => {
      const admin = await adminAsks(app, throttle, c);
      const report = await healthReport(app);
      // Degraded still serves (messages are kept for later): only "down" takes it out of a load balancer.
      const code = report.status === "down" ? 503 : 200;
      const ok = report.status === "up";
      if (!admin) return c.json({ ok, status: report.status }, code);
      return c.json({ ok, ...report, version: VERSION }, code);
    })
    .get("/metrics", authenticate(app, throttle), requireAdmin(), async (c) => {
      const now = app.kernel.clock.now();
      const runs = await app.store.countRuns(now);
      const { tenants, tokens, modelCalls: calls, pendingApprovals: pending } = await osCounts(app.db, now);
      const workers = (await app.kernel.workers(liveWindowMs(app.config.leaseMs))).length;
      const components = await app.health.states();
      const lines: string[] = [];
      const metric = (name: string, help: string, samples: [labels: string, value: number][]) => {
        lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`);
        for (const [labels, value] of samples) lines.push(`${name}${labels} ${value}`);
      };
      const statuses = ["pending", "running", "suspended", "completed", "failed", "cancelled"];
      metric(
        "agentd_runs",
        "Runs by status.",
        statuses.map((s) => [`{status="${s}"}`, runs.byStatus[s] ?? 0]),
      );
      metric("agentd_runs_due", "Runs due and waiting for a worker.", [["", runs.due]]);
      metric("agentd_workers_live", "Workers on this store that renewed their heartbeat within three leases.", [
        ["", workers],
      ]);
      if (components.length > 0)
        metric(
          "agentd_component_up",
          "1 when a component (a channel, …) works, 0 when it is down.",
          components.map((s) => [`{name="${s.name.replace(/["\\\n]/g, "_")}"}`, s.ok ? 1 : 0]),
        );
      metric("agentd_tenants", "Tenants.", [["", tenants]]);
      metric("agentd_tokens_today", "Model tokens spent today (UTC), all tenants.", [["", tokens]]);
      metric("agentd_model_calls_today", "Model calls today (UTC), all tenants.", [["", calls]]);
      metric("agentd_approvals_pending", "Tool calls waiting for a person's approval.", [["", pending]]);
      metric("agentd_info", "The running agentd.", [[`{version="${VERSION}",store="${app.store.kind}"}`, 1]]);
      return c.body(`${lines.join("\n")}\n`, 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
    });
}
