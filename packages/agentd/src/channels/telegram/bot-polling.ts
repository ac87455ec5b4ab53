import { setTimeout as sleep } from "node:timers/promises";
import type pg from "pg";
import type { TelegramBots } from "./bots.ts";

/**
 * Telegram gives a bot's updates to one getUpdates caller at a time (a second gets 409), so of all
 * the worker processes on one store exactly one polls the tenant bots: the holder of this lock.
 */
export interface PollerLock {
  /** True while this process holds the lock; takes it when free. */
  acquire(): Promise<boolean>;
  release(): Promise<void>;
}

/** SQLite: one process owns the data folder, so it is always the poller. */
export const soleProcess: PollerLock = { acquire: async () => true, release: async () => {} };

/**
 * Postgres: a session advisory lock on a connection of its own, named after the schema (tests and
 * deployments sharing a database do not block each other). The lock lives as long as the connection:
 * when the holder dies or loses it, another worker takes it at its next rescan.
 */
export function advisoryLock(url: string, schema: string, log: (line: string) => void): PollerLock {
  let client: pg.Client | null = null;
  let held = false;
  const drop = () => {
    held = false;
    const c = client;
    client = null;
    c?.end().catch(() => {});
  };
  return {
    async acquire() {
      if (held && client) return true;
      try {
        const { Client } = (await import("pg")).default; // loaded only on Postgres, when there is a poller to lock
        const c: pg.Client = new Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
        c.on("error", (e) => {
          if (held)
            log(
              `telegram bots: lost the poller lock's connection (${e.message}); polling stops until it is taken again`,
            );
          drop();
        });
        await c.connect();
        client = c;
        const r = await c.query<{ ok: boolean }>("SELECT pg_try_advisory_lock(hashtext($1)) AS ok", [
          `agentd:${schema}:telegram-bot-pollers`,
        ]);
        held = r.rows[0]?.ok === true;
        // Not the poller: no connection held while another process polls.
        if (!held) drop();
      } catch (e) {
        log(`telegram bots: cannot take the poller lock (${(e as Error).message}); trying again at the next rescan`);
        drop();
      }
      return held;
    },
    async release() {
      drop();
    },
  };
}

/** The lock for a store: Postgres's advisory lock, or SQLite's sole process. */
export function pollerLockFor(
  store: { databaseUrl?: string | undefined; pgSchema?: string | undefined },
  log: (line: string) => void,
): PollerLock {
  const url = store.databaseUrl;
  return url ? advisoryLock(url, store.pgSchema ?? "public", log) : soleProcess;
}

export interface PollingOptions {
  lock: PollerLock;
  /** How often the bots are listed again: new bots start polling, removed ones stop (default 10 s). */
  rescanMs?: number;
  /** How long a bot whose polling failed for good (a revoked token) waits before it is tried again (default 5 min). */
  retryFailedMs?: number;
  log: (line: string) => void;
  /** Other bots polled by the lock's holder only (the deployment's own TELEGRAM_BOT_TOKEN bot), by a name of their own. */
  alsoPoll?: { id: string; poll(signal: AbortSignal): Promise<void> }[];
}

/**
 * Until `signal` aborts: every rescan drops cached channels of removed bots and, in the process that
 * holds the poller lock, keeps one long-polling loop per tenant bot in polling mode (and per bot of
 * `alsoPoll`): Telegram answers a second getUpdates caller of a bot with 409.
 */
export async function superviseTenantPolling(
  bots: TelegramBots,
  signal: AbortSignal,
  opts: PollingOptions,
): Promise<void> {
  const loops = new Map<string, { stop: AbortController; done: Promise<void> }>();
  const failedUntil = new Map<string, number>();
  const rescanMs = opts.rescanMs ?? 10_000;
  const stop = (id: string) => loops.get(id)?.stop.abort();

  while (!signal.aborted) {
    try {
      const all = await bots.sync();
      const leader = await opts.lock.acquire();
      const extra = new Map((opts.alsoPoll ?? []).map((p) => [p.id, p]));
      const wanted = new Set(
        leader ? [...extra.keys(), ...all.filter((b) => b.mode === "polling").map((b) => b.id)] : [],
      );
      for (const id of loops.keys()) if (!wanted.has(id)) stop(id);
      for (const id of wanted) {
        if (loops.has(id) || (failedUntil.get(id) ?? 0) > Date.now()) continue;
        const ac = new AbortController();
        const done = (async () => {
          try {
            const own = extra.get(id);
            const live = own ? null : await bots.channel(id);
            const poll = own ? (s: AbortSignal) => own.poll(s) : live ? (s: AbortSignal) => live.channel.poll(s) : null;
            if (poll) await poll(AbortSignal.any([ac.signal, signal]));
          } catch {
            // pollUpdates gives up only on a token Telegram refuses (already logged, redacted)
            failedUntil.set(id, Date.now() + (opts.retryFailedMs ?? 300_000));
          } finally {
            loops.delete(id);
          }
        })();
        loops.set(id, { stop: ac, done });
      }
    } catch (e) {
      opts.log(`telegram bots: rescan failed (${(e as Error).message}); trying again in ${rescanMs} ms`);
    }
    await sleep(rescanMs, undefined, { signal }).catch(() => {});
  }
  for (const id of loops.keys()) stop(id);
  await Promise.allSettled([...loops.values()].map((l) => l.done));
  await opts.lock.release();
}
