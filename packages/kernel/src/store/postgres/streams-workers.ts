import type pg from "pg";
import { toChunk } from "../rows.ts";
import type { StreamChunk, WorkerRecord } from "../types.ts";

/** Reads and writes beside the run path: streams, worker heartbeats. */
type Q = <R extends pg.QueryResultRow = Record<string, unknown>>(sql: string, args?: unknown[]) => Promise<R[]>;

export async function readStream(
  q: Q,
  runId: string,
  from: number,
  limit: number,
): Promise<{ chunks: StreamChunk[]; first: number | null; last: number | null }> {
  const ends = (
    await q<{ first: number | null; last: number | null }>(
      "SELECT min(pos) AS first, max(pos) AS last FROM stream_chunks WHERE run_id = $1",
      [runId],
    )
  )[0];
  const rows = await q("SELECT * FROM stream_chunks WHERE run_id = $1 AND pos >= $2 ORDER BY pos LIMIT $3", [
    runId,
    from,
    limit,
  ]);
  return { chunks: rows.map(toChunk), first: ends?.first ?? null, last: ends?.last ?? null };
}

export async function heartbeat(q: Q, w: WorkerRecord): Promise<void> {
  await q(
    `INSERT INTO workers (id, workflows, started_at, heartbeat_at) VALUES ($1, $2, $3, $4)
     ON CONFLICT (id) DO UPDATE SET workflows = excluded.workflows, heartbeat_at = excluded.heartbeat_at`,
    [w.id, JSON.stringify(w.workflows), w.startedAt, w.heartbeatAt],
  );
}
