import type pg from "pg";
import { RunFinishedError, RunNotFoundError } from "../../errors.ts";
import { planResume, retryRefused } from "../../resume-plan.ts";
import { toEntry, toRun } from "../rows.ts";
import { isTerminal } from "../types.ts";
import type { EventInput, SendEventResult } from "../types.ts";
import * as sql from "./statements.ts";

/** Run administration on Postgres, each inside the caller's transaction on client `c`. */

export async function sendEvent(
  c: pg.PoolClient,
  channel: string,
  runId: string,
  ev: EventInput,
  now: number,
): Promise<SendEventResult> {
  const { rows } = await c.query<{ status: string }>("SELECT status FROM runs WHERE id = $1 FOR UPDATE", [runId]);
  const status = rows[0]?.status;
  if (!status) throw new RunNotFoundError(`with id ${runId}`);
  if (isTerminal(status)) throw new RunFinishedError(runId, status, `send event "${ev.name}" to`);
  const ins = await c.query(
    "INSERT INTO events (run_id, name, event_id, payload, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (run_id, event_id) DO NOTHING",
    [runId, ev.name, ev.eventId, ev.payload, now],
  );
  if (ins.rowCount === 0) return { delivered: false as const, runId, reason: "duplicate" as const };
  const woke = await c.query(
    `UPDATE runs SET wake_at = $1 WHERE id = $2 AND status = 'suspended' AND (waiting::jsonb -> 'events') ? $3`,
    [now, runId, ev.name],
  );
  if (woke.rowCount) await c.query("SELECT pg_notify($1, '')", [channel]);
  return { delivered: true as const, runId };
}

export async function cancelRun(c: pg.PoolClient, channel: string, runId: string, now: number): Promise<string[]> {
  const { rows } = await c.query<{ status: string }>("SELECT status FROM runs WHERE id = $1 FOR UPDATE", [runId]);
  const status = rows[0]?.status;
  if (!status) throw new RunNotFoundError(`with id ${runId}`);
  if (isTerminal(status)) throw new RunFinishedError(runId, status, "cancel");
  const error = JSON.stringify({ name: "CancelledError", message: `run ${runId} was cancelled`, code: "cancelled" });
  await c.query(sql.LOCK_TREE, [runId]);
  const res = await c.query<{ id: string }>(sql.CANCEL_TREE, [runId, now, error]);
  await c.query(
    "UPDATE runs SET wake_at = $1 WHERE id = (SELECT parent_id FROM runs WHERE id = $2) AND status = 'suspended'",
    [now, runId],
  );
  const ids = res.rows.map((r) => r.id);
  await c.query("SELECT kernel_admit_next(id, $2) FROM unnest($1::text[]) AS id", [ids, now]);
  await c.query("SELECT pg_notify($1, '')", [channel]);
  return ids;
}

export async function retryRun(c: pg.PoolClient, channel: string, runId: string, now: number): Promise<void> {
  const retry = async (id: string): Promise<void> => {
    const { rows } = await c.query("SELECT * FROM runs WHERE id = $1 FOR UPDATE", [id]);
    if (!rows[0]) throw new RunNotFoundError(`with id ${id}`);
    const run = toRun(rows[0]);
    if (run.status !== "failed") throw retryRefused(id, run.status);
    const journal = await c.query("SELECT * FROM entries WHERE run_id = $1 ORDER BY seq", [id]);
    const plan = planResume(run, journal.rows.map(toEntry));
    // A failed child is resumed with its parent, so the parent's invoke waits for it again.
    for (const f of plan.invokes) {
      const child = await c.query<{ status: string }>("SELECT status FROM runs WHERE id = $1", [f.childId]);
      if (child.rows[0]?.status === "failed") {
        await retry(f.childId);
        await c.query(
          "UPDATE entries SET status = 'waiting', error = NULL, updated_at = $1 WHERE run_id = $2 AND seq = $3",
          [now, id, f.seq],
        );
      } else plan.remove.push(f.seq);
    }
    await c.query("DELETE FROM entries WHERE run_id = $1 AND seq = ANY($2::int[])", [id, plan.remove]);
    await c.query("UPDATE events SET consumed_seq = NULL WHERE run_id = $1 AND consumed_seq = ANY($2::int[])", [
      id,
      plan.remove,
    ]);
    // A retried run takes a slot of its concurrency key again, or queues for one.
    await c.query(
      `UPDATE runs SET status = 'pending', error = NULL, output = NULL, completed_at = NULL, updated_at = $1,
             queued = CASE WHEN concurrency_key IS NOT NULL AND (SELECT count(*) FROM runs o WHERE o.concurrency_key = runs.concurrency_key AND o.id <> runs.id
          AND o.status NOT IN ('completed', 'failed', 'cancelled')) >= concurrency_limit THEN 1 ELSE 0 END,
             deadline_at = CASE WHEN timeout_ms IS NULL THEN NULL ELSE $1 + timeout_ms END WHERE id = $2`,
      [now, id],
    );
    await c.query("UPDATE runs SET wake_at = CASE WHEN queued = 1 THEN NULL ELSE $1::bigint END WHERE id = $2", [
      now,
      id,
    ]);
  };
  await retry(runId);
  await c.query("SELECT pg_notify($1, '')", [channel]);
}
