import type { DatabaseSync, StatementSync } from "node:sqlite";
import type { GroupResult, NewRun, WriteGroup, WriteOp } from "../types.ts";
import { RUNS_PER_STATEMENT, RunInserts, runValues } from "./run-inserts.ts";

/** What fences a group: the run row's lease as last seen. */
export interface Fence {
  epoch: number;
  lease_owner: string | null;
  status: string;
}

export type FenceCache = Map<string, Fence>;

/** A group applied: one frozen result for them all (a group a step, each an object that lived until its commit settled). */
const OK: GroupResult = Object.freeze({ ok: true });

/** True if the ops take the run out of "running" (what the fence cache knows of its row changes). */
function leavesRunning(ops: WriteOp[]): boolean {
  for (const o of ops)
    if (o.op === "finish" || o.op === "suspend" || o.op === "release" || o.op === "continueAsNew") return true;
  return false;
}

/** Prepared statements for the write path, compiled once per connection. */
export class SqliteWrites {
  readonly #insertRun: StatementSync;
  readonly #inserts: RunInserts;
  readonly #findByKey: StatementSync;
  readonly #fence: StatementSync;
  readonly #putEntry: StatementSync;
  readonly #updateEntry: StatementSync;
  readonly #consume: StatementSync;
  readonly #suspend: StatementSync;
  readonly #finish: StatementSync;
  readonly #wakeParent: StatementSync;
  readonly #release: StatementSync;
  readonly #continue: StatementSync;
  readonly #publish: StatementSync;
  readonly #trim: StatementSync;
  readonly #slotsTaken: StatementSync;
  readonly #renew: StatementSync[];
  readonly #admitNext: StatementSync;
  readonly #laneOf: StatementSync;

  constructor(db: DatabaseSync) {
    this.#insertRun = db.prepare(`
      INSERT INTO runs (id, namespace, workflow, key, status, input, parent_id, parent_seq, epoch, lease_owner,
        lease_expires_at, wake_at, timeout_ms, deadline_at, created_at, updated_at, concurrency_key, concurrency_limit, queued, version, trace_parent)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`);
    this.#inserts = new RunInserts(db);
    this.#renew = [
      db.prepare("DELETE FROM entries WHERE run_id = ?"),
      db.prepare("DELETE FROM events WHERE run_id = ? AND consumed_seq IS NOT NULL"),
    ];
    this.#slotsTaken = db.prepare(`SELECT count(*) AS n FROM (SELECT 1 FROM runs WHERE concurrency_key = ?
      AND status NOT IN ('completed', 'failed', 'cancelled') LIMIT ?)`);
    this.#laneOf = db.prepare("SELECT concurrency_key AS k FROM runs WHERE id = ? AND queued = 0");
    // The status term of runs_concurrency's own WHERE, repeated: SQLite uses a partial index only for a query that states its condition.
    this.#admitNext = db.prepare(`
      UPDATE runs SET queued = 0, wake_at = ?, updated_at = ? WHERE id = (
        SELECT id FROM runs WHERE concurrency_key = ? AND queued = 1 AND status = 'pending'
          AND status NOT IN ('completed', 'failed', 'cancelled') ORDER BY created_at, id LIMIT 1)`);
    this.#findByKey = db.prepare("SELECT id FROM runs WHERE workflow = ? AND key = ?");
    this.#fence = db.prepare("SELECT epoch, lease_owner, status FROM runs WHERE id = ?");
    this.#putEntry = db.prepare(`
      INSERT INTO entries (run_id, seq, kind, name, status, attempt, wake_at, value, error, ref, started_at, updated_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (run_id, seq) DO UPDATE SET status = excluded.status, attempt = excluded.attempt,
        wake_at = excluded.wake_at, value = excluded.value, error = excluded.error, ref = excluded.ref,
        updated_at = excluded.updated_at`);
    this.#updateEntry = db.prepare(`
      UPDATE entries SET status = ?, attempt = ?, wake_at = ?, value = ?, error = ?, ref = ?, updated_at = ? WHERE run_id = ? AND seq = ?`);
    this.#consume = db.prepare(
      "UPDATE events SET consumed_seq = ? WHERE id = ? AND run_id = ? AND consumed_seq IS NULL",
    );
    // A suspending run becomes due at once if what it waits for already happened: this closes the race
    // with an event or a child's completion that arrived while the run was still executing.
    this.#suspend = db.prepare(`
      UPDATE runs SET status = 'suspended', lease_owner = NULL, lease_expires_at = NULL, updated_at = ?, waiting = ?,
        wake_at = CASE
          WHEN EXISTS (SELECT 1 FROM events e WHERE e.run_id = runs.id AND e.consumed_seq IS NULL
                       AND e.name IN (SELECT value FROM json_each(?)))
            OR EXISTS (SELECT 1 FROM runs c WHERE c.id IN (SELECT value FROM json_each(?))
                       AND c.status IN ('completed', 'failed', 'cancelled'))
          THEN ? ELSE ? END
      WHERE id = ?`);
    // Returns what the end touches besides the run: its parent and its lane, null for most runs.
    this.#finish = db.prepare(`
      UPDATE runs SET status = ?, output = ?, error = ?, completed_at = ?, updated_at = ?, lease_owner = NULL,
        lease_expires_at = NULL, wake_at = NULL, waiting = NULL WHERE id = ? RETURNING parent_id, concurrency_key`);
    this.#release = db.prepare(`
      UPDATE runs SET status = 'pending', lease_owner = NULL, lease_expires_at = NULL, wake_at = ?, updated_at = ? WHERE id = ?`);
    this.#publish = db.prepare(`INSERT INTO stream_chunks (run_id, pos, seq, attempt, data, created_at)
      VALUES (?1, (SELECT coalesce(max(pos), 0) + 1 FROM stream_chunks WHERE run_id = ?1), ?2, ?3, ?4, ?5) RETURNING pos`);
    this.#trim = db.prepare("DELETE FROM stream_chunks WHERE run_id = ? AND pos <= ?");
    this.#continue = db.prepare(`
      UPDATE runs SET input = ?, generation = generation + 1, status = 'pending', lease_owner = NULL, lease_expires_at = NULL,
        wake_at = ?, waiting = NULL, updated_at = ?, deadline_at = CASE WHEN timeout_ms IS NULL THEN NULL ELSE ? + timeout_ms END
      WHERE id = ?`);
    this.#wakeParent = db.prepare("UPDATE runs SET wake_at = ? WHERE id = ? AND status = 'suspended'");
  }

  /** Every statement, by name (test/plans.test.ts checks that each searches an index). */
  statements(): Record<string, StatementSync> {
    return {
      insertRun: this.#insertRun,
      insertRuns: this.#inserts.statement(RUNS_PER_STATEMENT),
      findByKey: this.#findByKey,
      fence: this.#fence,
      putEntry: this.#putEntry,
      updateEntry: this.#updateEntry,
      consume: this.#consume,
      suspend: this.#suspend,
      finish: this.#finish,
      wakeParent: this.#wakeParent,
      release: this.#release,
      continue: this.#continue,
      publish: this.#publish,
      trim: this.#trim,
      slotsTaken: this.#slotsTaken,
      admitNext: this.#admitNext,
      laneOf: this.#laneOf,
      clearJournal: this.#renew[0] as StatementSync,
      clearEvents: this.#renew[1] as StatementSync,
    };
  }

  /**
   * Applies groups inside the caller's write transaction. Each group's fence is checked before it
   * writes anything, against `fences` (what this connection knows of its runs' leases; a miss reads the row).
   */
  applyAll(groups: WriteGroup[], now: number, fences: FenceCache): GroupResult[] {
    const early = this.#insertOwn(groups, now);
    return groups.map((g) => {
      const ownInsert = g.ops[0]?.op === "insertRun" && g.ops[0].run.id === g.runId;
      let fence = g.epoch > 0 ? fences.get(g.runId) : undefined;
      if (g.epoch > 0 && !fence && !ownInsert) {
        fence = this.#fence.get(g.runId) as Fence | undefined;
        if (fence) fences.set(g.runId, fence);
      }
      const res = this.#apply(g, now, fence, early);
      if (res.ok && g.epoch > 0) {
        // The run left "running", or was just inserted claimed: what we know of its row changes with it.
        if (leavesRunning(g.ops)) fences.delete(g.runId);
        else if (ownInsert) fences.set(g.runId, { epoch: 1, lease_owner: g.owner, status: "running" });
      }
      return res;
    });
  }

  /**
   * The runs the groups start (each group's own insert, never fenced) with no lane, inserted first and
   * many to a statement: by id, claimed, inserted or conflict. Nothing else a commit does reads or
   * frees a key, so inserting them before the other groups' writes changes no outcome.
   */
  #insertOwn(groups: WriteGroup[], now: number): Map<string, "claimed" | "inserted" | "conflict"> | null {
    let runs: NewRun[] | null = null;
    for (const g of groups) {
      const first = g.ops[0];
      if (first?.op === "insertRun" && first.run.id === g.runId && (first.run.concurrencyKey ?? null) === null)
        (runs ??= []).push(first.run);
    }
    if (!runs || runs.length < 2) return null;
    const inserted = this.#inserts.insert(runs, now);
    const out = new Map<string, "claimed" | "inserted" | "conflict">();
    for (const r of runs) out.set(r.id, !inserted.has(r.id) ? "conflict" : r.claimedBy ? "claimed" : "inserted");
    return out;
  }

  #apply(g: WriteGroup, now: number, fence: Fence | undefined, early: Map<string, string> | null): GroupResult {
    let i = 0;
    const first = g.ops[0];
    if (first?.op === "insertRun" && first.run.id === g.runId) {
      const inserted = early?.get(g.runId) ?? this.insert(first.run, now);
      if (inserted === "conflict") {
        const existing = first.run.key
          ? (this.#findByKey.get(first.run.workflow, first.run.key) as { id: string } | undefined)
          : undefined;
        return { ok: false, reason: "conflict", existingRunId: existing?.id ?? first.run.id };
      }
      i = 1;
      if (g.epoch === 0) return OK;
      // Just inserted: claimed by its writer at epoch 1, unless it had to queue for its concurrency key.
      fence = inserted === "claimed" ? { epoch: 1, lease_owner: g.owner, status: "running" } : undefined;
    }
    if (!fence || fence.epoch !== g.epoch || fence.lease_owner !== g.owner || fence.status !== "running") {
      return { ok: false, reason: "lease_lost" };
    }
    // The position of the group's last chunk: the kernel hands its chunks to subscribers in its process without a read.
    let lastChunk: number | undefined;
    for (; i < g.ops.length; i++) lastChunk = this.#op(g.runId, g.ops[i] as WriteOp, now) ?? lastChunk;
    return lastChunk === undefined ? OK : { ok: true, lastChunk };
  }

  /** Inserts a run: "claimed" by its writer, "inserted" (pending or queued for its concurrency key), or "conflict". */
  insert(r: NewRun, now: number): "claimed" | "inserted" | "conflict" {
    const key = r.concurrencyKey ?? null;
    const limit = r.concurrencyLimit ?? 1;
    // SQLite runs one writer at a time, so counting the key's unfinished runs here cannot race another insert.
    const waiting = key !== null && Number((this.#slotsTaken.get(key, limit) as { n: number }).n) >= limit;
    const c = waiting ? null : r.claimedBy;
    const res = this.#insertRun.run(...runValues(r, now, c !== null, waiting));
    if (Number(res.changes) !== 1) return "conflict";
    return c ? "claimed" : "inserted";
  }

  /** The run ended or was cancelled: if it held a slot of a concurrency key, the next queued run becomes due. */
  admitNext(runId: string, now: number): boolean {
    // Most runs have no lane: one primary-key read settles it.
    const lane = (this.#laneOf.get(runId) as { k: string | null } | undefined)?.k;
    return lane !== null && lane !== undefined && this.#admit(lane, now);
  }

  #admit(lane: string, now: number): boolean {
    return Number(this.#admitNext.run(now, now, lane).changes) === 1;
  }

  /** Applies one write; a chunk published returns its stream position. */
  #op(runId: string, o: WriteOp, now: number): number | undefined {
    switch (o.op) {
      case "insertRun":
        this.insert(o.run, now);
        return;
      case "putEntry": {
        const e = o.entry;
        const error = e.error ? JSON.stringify(e.error) : null;
        if (
          o.update &&
          Number(
            this.#updateEntry.run(e.status, e.attempt, e.wakeAt, e.value, error, e.ref, now, runId, e.seq).changes,
          ) === 1
        )
          return;
        this.#putEntry.run(
          runId,
          e.seq,
          e.kind,
          e.name,
          e.status,
          e.attempt,
          e.wakeAt,
          e.value,
          error,
          e.ref,
          e.startedAt,
          now,
        );
        return;
      }
      case "consumeEvent":
        this.#consume.run(o.seq, o.eventRowId, runId);
        return;
      case "suspend":
        this.#suspend.run(
          now,
          JSON.stringify({ events: o.events, children: o.children }),
          JSON.stringify(o.events),
          JSON.stringify(o.children),
          now,
          o.wakeAt,
          runId,
        );
        return;
      case "finish": {
        // The finish reads back the run's parent and lane: a run with neither (most) ends in one statement.
        const ended = this.#finish.get(o.status, o.output, o.error ? JSON.stringify(o.error) : null, now, now, runId) as
          | { parent_id: string | null; concurrency_key: string | null }
          | undefined;
        if (ended?.parent_id != null) this.#wakeParent.run(now, ended.parent_id);
        if (ended?.concurrency_key != null) this.#admit(ended.concurrency_key, now);
        return;
      }
      case "release":
        this.#release.run(now, now, runId);
        return;
      case "publish": {
        const pos = Number((this.#publish.get(runId, o.seq, o.attempt, o.data, now) as { pos: number }).pos);
        // Bounded retention, trimmed every 1000 chunks.
        if (pos % 1000 === 0) this.#trim.run(runId, pos - o.retain);
        return pos;
      }
      case "continueAsNew":
        for (const st of this.#renew) st.run(runId);
        this.#continue.run(o.input, now, now, now, runId);
        return;
    }
  }
}
