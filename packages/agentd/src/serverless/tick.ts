import type { DrainReport, RetentionReport } from "@agentd/kernel";
import type { Agentd } from "../app.ts";
import type { Drains } from "./drains.ts";

/** What one tick did: the platform's cron reads it in its log, the simulator and the bench in the body. */
export interface TickReport {
  /** The kernel's time of this tick. */
  at: number;
  /**
   * Ticks expected since the last one that completed which did not complete (never called, failed,
   * or killed at the function's time limit): logged as a warning when not 0.
   */
  missed: number;
  /** Messages found persisted without their turn (an invocation died between the two), now started. */
  recovered: number;
  /**
   * Webhooks pointed at this deployment by this instance, and those to set in a provider's console
   * (Twilio, WhatsApp's Cloud API), one line each; its first tick only (also logged).
   */
  webhooks: string[];
  /** Ended runs removed, when retention was due (once an hour). */
  retention: RetentionReport | null;
  /** The due work run (null when too little time was left). */
  drain: DrainReport | null;
}

const RETENTION_EVERY_MS = 60 * 60_000;
/** How long a tick waits for a provider to take a webhook's address before leaving it to the next instance. */
const REGISTER_MS = 3_000;

/**
 * One tick of the platform's cron: notes a tick that came late, starts turns a killed invocation
 * left unstarted, removes ended runs when due, points the webhooks here once per instance, then
 * drains due work (timers, reminders, schedules, heartbeats, retries, turns in progress) until the
 * invocation's deadline, every run handed back consistent.
 */
export async function tick(
  app: Agentd,
  drains: Drains,
  deadline: number,
  opts: { everyMs: number; firstInInstance: boolean },
): Promise<TickReport> {
  const at = app.kernel.clock.now();
  const last = await read(app, "tick");
  // Rounded, so a cron's jitter of a few seconds is not a missed tick.
  const missed = last === null ? 0 : Math.max(0, Math.round((at - last) / opts.everyMs) - 1);
  if (missed > 0)
    app.log({
      level: "warn",
      msg: `${missed} tick(s) did not complete since the last one at ${new Date(last!).toISOString()} (not called, failed, or killed at the function's time limit): due work waited; check the platform's cron (its schedule, CRON_SECRET or AGENTD_TICK_SECRET) and its function's logs`,
    });
  const recovered = await app.inbox.recover();
  let retention: RetentionReport | null = null;
  if (app.kernel.retention) {
    const ranAt = await read(app, "retention");
    if (ranAt === null || at - ranAt >= RETENTION_EVERY_MS) {
      await stamp(app, "retention", at);
      retention = await app.kernel.retention.run();
    }
  }
  const webhooks = opts.firstInInstance
    ? await app.configuredChannels.register(AbortSignal.timeout(REGISTER_MS)).catch(() => [])
    : [];
  for (const line of webhooks) app.log({ level: "info", msg: line });
  const drain = await drains.run(deadline);
  await stamp(app, "tick", at);
  return { at, missed, recovered, webhooks, retention, drain };
}

async function read(app: Agentd, name: string): Promise<number | null> {
  const row = await app.db.get<{ last_at: number | string }>("SELECT last_at FROM os_ticks WHERE name = ?", [name]);
  return row ? Number(row.last_at) : null;
}

/** Records `at` as the latest of `name` (a later one already recorded is kept). */
async function stamp(app: Agentd, name: string, at: number): Promise<void> {
  await app.db.run(
    `INSERT INTO os_ticks (name, last_at, count) VALUES (?, ?, 1) ON CONFLICT (name) DO UPDATE
     SET last_at = CASE WHEN excluded.last_at > os_ticks.last_at THEN excluded.last_at ELSE os_ticks.last_at END, count = os_ticks.count + 1`,
    [name, at],
  );
}
