import { readFileSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { connectInspector, inspectorUrl } from "../agent-inspector.ts";
import type { ModelProcess } from "../agent-model.ts";
import { SIZE } from "./config.ts";
import { ADMIN, emit, pct, round, sleep, targets } from "./harness.ts";
import { rss, spawnAgentd } from "./start-memory.ts";

// ---- 8. density: many tenants with heartbeats on one `agentd start` process ------------------------

/**
 * Tenant i's heartbeat: once every `period` seconds, at second i mod period, so that the tenants'
 * heartbeats are spread over the period as real ones are (each tenant's own minute or hour), not all
 * due at the same instant. A period of 60 is `S * * * * *`: once a minute, at second S.
 */
export const densityCron = (i: number, period: number) =>
  period === 60 ? `${i % 60} * * * * *` : `${i % period}/${period} * * * * *`;

interface TickRow {
  status: string;
  reason: string | null;
  lag: number;
  done: number | null;
}

/**
 * 10,000 tenants (SIZE.densityTenants), each with a heartbeat once a minute at its own second, on one
 * `agentd start` process (SQLite) that has a model: its RSS through one whole period, the requests
 * reaching the model (none may: nothing is due), and every tick of the period (each tenant's one)
 * from schedule_ticks and runs: fired on time (lag from the tick's due time to the run's start), its
 * heartbeat run completed, none skipped or queued.
 */
export async function density(model: ModelProcess) {
  const n = SIZE.densityTenants;
  const period = SIZE.densityPeriod;
  const a = await spawnAgentd(
    { AGENTD_ADMIN_TOKEN: ADMIN, OPENAI_BASE_URL: model.url, OPENAI_API_KEY: "bench-key", AGENTD_MODEL: "stand-in" },
    ["--inspect=127.0.0.1:0"],
  );
  const wsUrl = inspectorUrl(a.stderr());
  const inspector = wsUrl ? await connectInspector(wsUrl) : null;
  try {
    const ready = rss(a.pid);
    const t0 = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next < n) {
          const i = next++;
          const res = await fetch(`${a.url}/v1/tenants`, {
            method: "POST",
            headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
            body: JSON.stringify({ name: `tenant-${i}`, settings: { heartbeat: densityCron(i, period) } }),
          });
          if (res.status !== 201) throw new Error(`POST /v1/tenants answered ${res.status}: ${await res.text()}`);
          await res.arrayBuffer();
        }
      }),
    );
    const createSeconds = (performance.now() - t0) / 1000;
    const made = rss(a.pid);
    // Ticks are due on whole seconds: the window is whole seconds [from, to), one period, so it holds
    // exactly one tick of every tenant. It starts a few seconds after the last tenant was made.
    await sleep(3_000 + 1_000 - (Date.now() % 1000));
    await model.take();
    const from = Date.now() - (Date.now() % 1000);
    const to = from + period * 1000;
    const cpu0 = cpuMs(a.pid);
    const samples: number[] = [];
    while (Date.now() < to) {
      samples.push(rss(a.pid).rss_mb);
      await sleep(1_000);
    }
    const cpu = cpuMs(a.pid) - cpu0;
    await sleep(3_000); // the window's last ticks fire and their runs complete
    const { requests } = await model.take();
    const end = rss(a.pid);
    let afterGc: ReturnType<typeof rss> | null = null;
    if (inspector) {
      await inspector.gcAndMemory();
      afterGc = rss(a.pid);
    }
    const rows = ticks(a.dataDir, from, to);
    const started = rows.filter((r) => r.status === "started");
    const lags = started.map((r) => r.lag);
    const done = started.flatMap((r) => (r.done === null ? [] : [r.done]));
    const byStatus: Record<string, number> = {};
    for (const r of rows) {
      const k = r.status === "skipped" ? `skipped: ${(r.reason ?? "").slice(0, 40)}` : r.status;
      byStatus[k] = (byStatus[k] ?? 0) + 1;
    }
    const expected = n; // one tick per tenant in a window of one period
    const lateMs = 1_000;
    const late = lags.filter((l) => l > lateMs).length;
    const peak = Math.max(...samples, end.rss_mb);
    const pass = {
      rss: peak <= 200,
      model_calls: requests.length === 0,
      on_time: started.length === expected && done.length === expected && late === 0,
    };
    targets.density_rss_mb = pass.rss;
    targets.density_model_calls = pass.model_calls;
    targets.density_heartbeats_on_time = pass.on_time;
    emit(
      "density",
      {
        what: `${n} tenants made by POST /v1/tenants on one \`agentd start\` process (SQLite, a model configured), tenant i's heartbeat once every ${period} s at second i mod ${period} (${densityCron(0, period)}, ${densityCron(1, period)}, …); then one period, [${period} s), observed: RSS from /proc every second, requests reaching the model, and each tenant's tick of the period from schedule_ticks and runs`,
        tenants: n,
        period_s: period,
        due_per_s: round(n / period, 1),
        create_seconds: round(createSeconds, 1),
        rss_mb: {
          at_ready: ready.rss_mb,
          after_tenants: made.rss_mb,
          peak_in_window: peak,
          end: end.rss_mb,
          ...(afterGc ? { after_gc: afterGc.rss_mb } : {}),
        },
        anon_mb_end: end.anon_mb,
        model_calls: requests.length,
        ticks_expected: expected,
        ticks: byStatus,
        heartbeat_runs_completed: done.length,
        tick_lag_ms: { p50: pct(lags, 0.5), p99: pct(lags, 0.99), max: pct(lags, 1) },
        run_done_lag_ms: { p50: pct(done, 0.5), p99: pct(done, 0.99), max: pct(done, 1) },
        late_over_1s: late,
        missing: expected - started.length,
        cpu_cores_used: round(cpu / (period * 1000)),
        target:
          "RSS ≤ 200 MB through the window, 0 model calls, every tenant's heartbeat fired (none skipped, none later than 1 s) and its run completed",
        pass,
      },
      "sqlite",
    );
  } finally {
    inspector?.close();
    await a.stop();
  }
}

/** Ticks due in [from, to) with their lag (fired minus due) and, for a started one, its run's completion minus due. */
function ticks(dataDir: string, from: number, to: number): TickRow[] {
  const db = new DatabaseSync(join(dataDir, "agentd.db"), { readOnly: true });
  try {
    return db
      .prepare(
        `SELECT t.status, t.reason, t.fired_at - t.tick_at AS lag, r.completed_at - t.tick_at AS done
         FROM schedule_ticks t LEFT JOIN runs r ON r.id = t.run_id AND r.status = 'completed'
         WHERE t.schedule_id LIKE 'heartbeat:%' AND t.tick_at >= ? AND t.tick_at < ?`,
      )
      .all(from, to) as unknown as TickRow[];
  } finally {
    db.close();
  }
}

/** CPU time (user + system, ms) the process used so far, from /proc. */
function cpuMs(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return (Number(f[11]) + Number(f[12])) * 10;
}
