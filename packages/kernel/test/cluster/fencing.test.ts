/**
 * Fencing across processes: worker A is paused with SIGSTOP while a step body of a run it holds is
 * in flight, long past its lease. Worker B takes the run over once A's lease has expired and
 * finishes it. Then A is resumed with SIGCONT: its step body returns at once and A tries to record
 * the result (its commit is reported over IPC with the store's answer). The fence must refuse it:
 * the journal and the output keep B's values, and nothing in the store changes. A then drops the run
 * and goes on working with fresh leases.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import test from "node:test";
import { Kernel } from "../../src/index.ts";
import {
  claimLog,
  killAll,
  type Message,
  noPg,
  pgUrl,
  type Proc,
  processState,
  sleep,
  spawnWorker,
  tempSchema,
  until,
} from "./cluster.ts";
import { ALL_WORKFLOWS, fence, type FenceValue } from "./procs/workflows.ts";

const LEASE_MS = 1_500;

test("a worker paused (SIGSTOP) past its lease cannot write for the run it lost: after SIGCONT its step result is refused and the store keeps the other worker's", {
  skip: noPg,
  timeout: 90_000,
}, async (t) => {
  const url = pgUrl as string;
  const t0 = performance.now();
  const dir = mkdtempSync(join(tmpdir(), "agentd-fence-"));
  const db = await tempSchema(url);
  const client = new Kernel({ store: db.store, workflows: ALL_WORKFLOWS, worker: false });
  const procs: Proc[] = [];
  const worker = (id: string) => {
    const p = spawnWorker({
      url,
      schema: db.schema,
      id,
      log: join(dir, `log-${id}`),
      leaseMs: LEASE_MS,
      pollMs: 200,
      report: true,
    });
    procs.push(p);
    return p;
  };
  const snapshot = async (runId: string) => ({
    run: await db.store.query("SELECT * FROM runs WHERE id = $1", [runId]),
    entries: await db.store.query("SELECT * FROM entries WHERE run_id = $1 ORDER BY seq", [runId]),
    events: await db.store.query("SELECT * FROM events WHERE run_id = $1 ORDER BY id", [runId]),
    claims: await db.store.query("SELECT * FROM claim_log WHERE run_id = $1 ORDER BY id", [runId]),
    rows: await db.store.query(
      "SELECT (SELECT count(*) FROM runs) AS runs, (SELECT count(*) FROM entries) AS entries, (SELECT max(updated_at) FROM entries) AS last_entry_write, (SELECT max(updated_at) FROM runs) AS last_run_write",
    ),
  });
  try {
    const a = worker("A");
    await a.ready;
    const run = await client.start(fence, { holder: "A", holdMs: 1_000 });
    // A claims the run and starts the body of step "work"; the SIGSTOP lands while the body holds A's event loop.
    const holding = await a.waitFor(
      (m) => m.type === "holding" && m.runId === run.id,
      15_000,
      "A to start the step body",
    );
    a.proc.kill("SIGSTOP");
    const stoppedAt = Date.now();
    if (processState(a.pid) !== null) await until(() => processState(a.pid) === "T", "A to be stopped", 2_000);
    const held = await client.getRun(run.id);
    assert.equal(held?.leaseOwner, "A", "A holds the run when it is paused");
    assert.equal(held?.status, "running");
    assert.equal(held?.epoch, 1);
    assert.equal(holding.attempt, 1);

    // B comes up and takes the run over once A's lease has expired, re-runs the step and finishes the run.
    const b = worker("B");
    await b.ready;
    await until(
      async () => (await client.getRun(run.id))?.status === "completed",
      "B to finish the run",
      20_000,
      async () => JSON.stringify(await client.getRun(run.id)),
    );
    if (processState(a.pid) !== null)
      assert.equal(processState(a.pid), "T", "A stayed paused while B took the run over");
    const takeover = (await claimLog(db.store)).find((c) => c.run_id === run.id && c.old_status === "running");
    assert.ok(takeover, "the claim log shows the run taken from a holder");
    assert.equal(takeover.old_owner, "A");
    assert.equal(takeover.new_owner, "B");
    assert.deepEqual([takeover.old_epoch, takeover.new_epoch], [1, 2], "B's claim is a new epoch");
    assert.ok(
      takeover.claimed_at >= (takeover.old_lease_expires_at as number),
      `B took the run at ${takeover.claimed_at}, before A's lease expired at ${takeover.old_lease_expires_at}`,
    );
    const doneByB = await client.getRun(run.id);
    const out = doneByB?.output as { work: FenceValue; after: { by: string } };
    assert.equal(out.work.by, "B", "the output holds B's step result");
    assert.equal(out.work.attempt, 2, "B ran attempt 2 (A's attempt 1 was durable before its body ran)");
    assert.equal(out.after.by, "B");
    const before = await snapshot(run.id);
    // A stays paused a while longer: well past its lease, as a long GC pause or a frozen VM would be.
    await sleep(stoppedAt + LEASE_MS + 1_000 - Date.now());
    const pausedMs = Date.now() - stoppedAt;

    // A resumes: its body returns before any timer of A runs, so A tries to record the result at epoch 1.
    a.proc.kill("SIGCONT");
    const resumedAt = Date.now();
    assert.ok(takeover.db_ms > stoppedAt && takeover.db_ms < resumedAt, "B's claim happened while A was paused");
    const isLate = (m: Message) =>
      m.type === "commit" &&
      (m.groups as { runId: string; epoch: number; ops: { op: string; name?: string; status?: string }[] }[]).some(
        (g) =>
          g.runId === run.id &&
          g.epoch === 1 &&
          g.ops.some((op) => op.op === "putEntry" && op.name === "work" && op.status === "completed"),
      );
    const late = await a.waitFor(isLate, 15_000, "A to try to record its late step result");
    const i = (late.groups as { runId: string; epoch: number }[]).findIndex((g) => g.runId === run.id && g.epoch === 1);
    const group = late.groups[i] as {
      owner: string;
      ops: { op: string; name?: string; status?: string; value?: string }[];
    };
    assert.equal(group.owner, "A");
    assert.deepEqual(
      late.results?.[i],
      { ok: false, reason: "lease_lost" },
      `A's late commit must be refused by the fence, got ${JSON.stringify(late.results ?? late.error)}`,
    );
    const lateValue = JSON.parse(group.ops.find((op) => op.name === "work")?.value ?? "null") as FenceValue;
    assert.equal(lateValue.by, "A");
    assert.equal(lateValue.attempt, 1);
    assert.ok(lateValue.heldMs >= LEASE_MS, `A's body was in flight across the pause (held ${lateValue.heldMs} ms)`);
    // A drops the run, and writes nothing else for it (give its renewals and polls time to run).
    await until(async () => (await a.ask("load", 5_000)).active === 0, "A to drop the run", 5_000);
    await sleep(3 * 200 + LEASE_MS / 3);
    const after = await snapshot(run.id);
    assert.deepEqual(after, before, "A's resumption changed nothing in the store");
    const laterCommits = a.messages.filter(
      (m) =>
        m.type === "commit" && m.at >= resumedAt && (m.groups as { runId: string }[]).some((g) => g.runId === run.id),
    );
    const accepted = laterCommits.filter((m) =>
      (m.groups as { runId: string }[]).some(
        (g, j) => g.runId === run.id && (m.results?.[j] as { ok?: boolean } | undefined)?.ok,
      ),
    );
    assert.deepEqual(accepted, [], "no write of A for the run it lost was accepted");
    const renewLost = a.messages.some(
      (m) => m.type === "renew" && m.at >= resumedAt && (m.lost as string[]).includes(run.id),
    );

    // A is healthy: with B stopped, A runs a new run with a fresh lease.
    assert.equal((await b.stop()).code, 0, `B exited badly: ${b.stderr.join("")}`);
    const run2 = await client.start(fence, { holder: "nobody", holdMs: 0 });
    const out2 = (await (async () => {
      await until(async () => (await client.getRun(run2.id))?.status === "completed", "A to run a new run", 15_000);
      return (await client.getRun(run2.id))?.output;
    })()) as { work: FenceValue };
    assert.equal(out2.work.by, "A", "A runs new work after its pause");
    assert.equal((await a.stop()).code, 0, `A exited badly: ${a.stderr.join("")}`);

    const figures = {
      leaseMs: LEASE_MS,
      pausedMs,
      takeoverAfterPauseMs: takeover.claimed_at - stoppedAt,
      takeoverAfterLeaseExpiryMs: takeover.claimed_at - (takeover.old_lease_expires_at as number),
      lateCommit: {
        epoch: 1,
        ops: group.ops.map((op) => `${op.op}${op.name ? ` ${op.name} ${op.status}` : ""}`),
        result: late.results?.[i],
      },
      lateCommitAfterResumeMs: late.at - resumedAt,
      renewalReportedLost: renewLost,
      journal: before.entries.map((e) => `${e.name}:${e.status}@${e.attempt}`),
      totalMs: Math.round(performance.now() - t0),
    };
    console.log(`cluster fencing figures: ${JSON.stringify(figures)}`);
    t.diagnostic(JSON.stringify(figures));
  } finally {
    await killAll(procs);
    await client.close();
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  }
});
