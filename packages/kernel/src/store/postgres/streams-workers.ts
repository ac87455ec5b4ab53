import type pg from "pg";
import { toChunk } from "../rows.ts";
import type { GroupResult, StreamChunk, WorkerRecord, WriteGroup } from "../types.ts";

/** Reads and writes beside the run path: streams, worker heartbeats. */
type Q = <R extends pg.QueryResultRow = Record<string, unknown>>(sql: string, args?: unknown[]) => Promise<R[]>;

export async function readStream(
  q: Q,
  runId: string,
  from: number,
  limit: number,
): Promise<{ chunks: StreamChunk[]; first: number | null; last: number | null }> {
  // The positions retained and the page in one round trip: a subscriber's read is on its first token's path.
  const rows = await q<{ first: number | null; last: number | null; pos: number | null }>(
    `SELECT e.first, e.last, c.* FROM (SELECT min(pos) AS first, max(pos) AS last FROM stream_chunks WHERE run_id = $1) e
     LEFT JOIN LATERAL (SELECT * FROM stream_chunks WHERE run_id = $1 AND pos >= $2 ORDER BY pos LIMIT $3) c ON true`,
    [runId, from, limit],
  );
  const ends = rows[0];
  return {
    chunks: rows.filter((r) => r.pos !== null).map(toChunk),
    first: ends?.first ?? null,
    last: ends?.last ?? null,
  };
}

/**
 * The group commit when groups publish: with the result, each such run's last stream position before
 * it. Its scalar subquery sees the statement's snapshot, not the function's inserts, and no other
 * transaction can add to a run's stream between them: only the lease holder publishes, and a group
 * writes only once its fence held, after every earlier holder's commit ended. So a group's chunks
 * take the positions right after its base, in order (kernel_commit gives each the next position).
 */
const COMMIT_STREAMED = `SELECT kernel_commit($1::jsonb, $2, $3) AS r, ARRAY(
  SELECT coalesce((SELECT max(s.pos) FROM stream_chunks s WHERE s.run_id = u.id), 0)
  FROM unnest($4::text[]) WITH ORDINALITY AS u(id, n) ORDER BY u.n) AS bases`;

/** The groups that publish, by index, and how many chunks each; null when none does (the plain commit). */
export function publishing(groups: WriteGroup[]): Map<number, number> | null {
  let out: Map<number, number> | null = null;
  for (let i = 0; i < groups.length; i++) {
    let n = 0;
    for (const op of (groups[i] as WriteGroup).ops) if (op.op === "publish") n++;
    if (n > 0) (out ??= new Map()).set(i, n);
  }
  return out;
}

/** The named statement of a commit whose groups publish (`publishing(groups)`). */
export function commitStreamed(groups: WriteGroup[], now: number, channel: string, pub: Map<number, number>) {
  return {
    name: "kernel_commit_streamed",
    text: COMMIT_STREAMED,
    values: [JSON.stringify(groups), now, channel, [...pub.keys()].map((i) => (groups[i] as WriteGroup).runId)],
  };
}

/** Sets `lastChunk` on each publishing group that committed: its base plus its chunks. */
export function placeChunks(results: GroupResult[], pub: Map<number, number>, bases: unknown[] | undefined): void {
  let k = 0;
  for (const [i, n] of pub) {
    const base = bases?.[k++];
    const r = results[i];
    if (r?.ok && base !== undefined && base !== null) results[i] = { ...r, lastChunk: Number(base) + n };
  }
}

export async function heartbeat(q: Q, w: WorkerRecord): Promise<void> {
  await q(
    `INSERT INTO workers (id, workflows, started_at, heartbeat_at) VALUES ($1, $2, $3, $4)
     ON CONFLICT (id) DO UPDATE SET workflows = excluded.workflows, heartbeat_at = excluded.heartbeat_at`,
    [w.id, JSON.stringify(w.workflows), w.startedAt, w.heartbeatAt],
  );
}
