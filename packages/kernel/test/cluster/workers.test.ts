/**
 * Four worker processes share one Postgres schema and run 2,000 workflows of mixed shape (steps,
 * parallel steps, sleeps, events, child runs, retries) that the test starts over ~15 s, while two of
 * the workers (w3, w4) are SIGKILLed again and again and restarted with the same worker id.
 *
 * At the end: nothing is lost (every run and child completed, with the result it must have), every
 * step's result is in the journal once and comes from the last attempt that started (side-effect
 * logs kept outside the store, one per process life), a body started again only after the process
 * running it was killed (or after an attempt that failed on purpose), and the runs a killed worker
 * held were taken over by other workers after their leases expired (a trigger logs every claim).
 *
 * Reproduce a failure with the seed it prints: CLUSTER_SEED=<seed>. Knobs: CLUSTER_RUNS (2000),
 * CLUSTER_KILLS (10), CLUSTER_KEEP=1 keeps the side-effect logs and the schema of a failed run.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import test from "node:test";
import { Kernel, RunFinishedError } from "../../src/index.ts";
import {
  claimLog, killAll, noPg, percentile, pgUrl, type Proc, prng, readLogs, sleep, spawnWorker, tempSchema, until, within,
} from "./cluster.ts";
import {
  ALL_WORKFLOWS, CHILD_JOURNAL, type ChildOutput, eventPayload, expectedTotal, type MixedOutput, mixed, mixedJournal, shapeOf,
  type StepValue,
} from "./procs/workflows.ts";

const SEED = Number(process.env.CLUSTER_SEED ?? Math.floor(Math.random() * 2 ** 31));
const RUNS = Number(process.env.CLUSTER_RUNS ?? 2_000);
const KILLS = Number(process.env.CLUSTER_KILLS ?? 10);
const START_MS = 15_000;
const LEASE_MS = 1_500;
const SURVIVORS = ["w1", "w2"];
const VICTIMS = ["w3", "w4"];
const TERMINAL = ["completed", "failed", "cancelled"];

interface RunRow { id: string; workflow: string; key: string | null; status: string; input: string; output: string | null; error: string | null; parent_id: string | null; epoch: number }
interface EntryRow { run_id: string; seq: number; kind: string; name: string; status: string; attempt: number; value: string | null; ref: string | null }
interface Kill { k: number; victim: string; pid: number; sentAt: number; orphans: { id: string; epoch: number; lease_expires_at: number }[] }

test("4 worker processes, 2 SIGKILLed and restarted again and again: 2,000 mixed runs complete, each step recorded once, orphans taken over after their leases expire", { skip: noPg, timeout: 240_000 }, async (t) => {
  const url = pgUrl as string;
  const rand = prng(SEED);
  const between = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  console.log(`cluster workers test seed ${SEED} (reproduce with CLUSTER_SEED=${SEED}); ${RUNS} runs, ${KILLS} kills`);
  const t0 = performance.now();
  const dir = mkdtempSync(join(tmpdir(), "agentd-cluster-"));
  const db = await tempSchema(url);
  const client = new Kernel({ store: db.store, workflows: ALL_WORKFLOWS, worker: false });
  const procs: Proc[] = [];
  const alive = new Map<string, Proc>();
  let lives = 0;
  const startWorker = (id: string): Proc => {
    const p = spawnWorker({ url, schema: db.schema, id, log: join(dir, `log-${id}-${++lives}`), leaseMs: LEASE_MS, pollMs: 250 });
    procs.push(p);
    alive.set(id, p);
    return p;
  };
  const kills: Kill[] = [];
  const killedAt = new Map<number, number>(); // pid -> when SIGKILL was sent
  let failed = true;
  let starting = true;
  let aborted = false;
  const background: Promise<void>[] = [];
  let backgroundError: unknown = null;
  const guard = (p: Promise<void>) => background.push(p.catch((e) => void (backgroundError ??= e)));

  try {
    for (const id of [...SURVIVORS, ...VICTIMS]) startWorker(id);
    await within(Promise.all([...alive.values()].map((p) => p.ready)), 60_000, "4 workers to start");

    // ---- clients start the runs over START_MS; each "event" run gets its event 0–3 s later, a few twice ----
    const ids = new Map<number, string>();
    const events: { n: number; due: number; dup: boolean }[] = [];
    let duplicatesRefused = 0;
    let eventsSent = 0;
    guard((async () => {
      const batch = 10;
      const begin = Date.now();
      for (let n0 = 0; n0 < RUNS && !aborted; n0 += batch) {
        const ns = Array.from({ length: Math.min(batch, RUNS - n0) }, (_, i) => n0 + i);
        const handles = await Promise.all(ns.map((n) => client.start(mixed, { n }, { key: `mix-${n}` })));
        handles.forEach((h, i) => {
          const n = ns[i] as number;
          assert.ok(h.created, `run mix-${n} was created twice`);
          ids.set(n, h.id);
          if (shapeOf(n) === "event") events.push({ n, due: Date.now() + between(0, 3_000), dup: false });
        });
        const wait = begin + ((n0 + batch) * START_MS) / RUNS - Date.now();
        if (wait > 0) await sleep(wait);
      }
      starting = false;
    })());
    guard((async () => {
      while ((starting || events.length > 0) && !aborted) {
        const now = Date.now();
        const due = events.filter((e) => e.due <= now);
        for (const e of due) {
          events.splice(events.indexOf(e), 1);
          const id = ids.get(e.n) as string;
          if (!e.dup) {
            const res = await client.sendEvent({ workflow: mixed, key: `mix-${e.n}` }, "go", eventPayload(e.n), { eventId: `go-${e.n}` });
            assert.deepEqual(res, { delivered: true, runId: id }, `event go-${e.n}`);
            eventsSent++;
            if (rand() < 0.2) events.push({ n: e.n, due: now + between(0, 2_000), dup: true });
          } else {
            try {
              const res = await client.sendEvent(id, "go", { k: -1 }, { eventId: `go-${e.n}` });
              assert.deepEqual(res, { delivered: false, runId: id, reason: "duplicate" }, `duplicate of event go-${e.n}`);
              duplicatesRefused++;
            } catch (err) {
              if (!RunFinishedError.is(err)) throw err; // the run consumed it and completed already
            }
          }
        }
        await sleep(25);
      }
    })());

    // ---- the kill loop: w3 and w4 in turn, SIGKILLed at random moments and restarted with the same id ----
    for (let k = 1; k <= KILLS; k++) {
      await sleep(between(800, 2_000));
      if (backgroundError) throw backgroundError;
      const victim = VICTIMS[k % 2] as string;
      const p = alive.get(victim) as Proc;
      await within(p.ready, 60_000, `worker ${victim} to start`);
      for (const q of alive.values()) assert.equal(q.exited, false, `worker ${q.id} (pid ${q.pid}) died on its own: ${q.stderr.join("")}`);
      const sentAt = Date.now();
      killedAt.set(p.pid, sentAt);
      const { signal } = await p.kill("SIGKILL");
      assert.equal(signal, "SIGKILL", `worker ${victim} ended by ${signal}: ${p.stderr.join("")}`);
      // Let what the dead process had in flight on the server settle, then see what it held: its orphans.
      await sleep(300);
      const orphans = await db.store.query<{ id: string; epoch: number; lease_expires_at: number }>(
        "SELECT id, epoch, lease_expires_at FROM runs WHERE status = 'running' AND lease_owner = $1", [victim]);
      kills.push({ k, victim, pid: p.pid, sentAt, orphans });
      await sleep(between(200, 800));
      startWorker(victim);
    }
    await Promise.all(background);
    if (backgroundError) throw backgroundError;
    const loopMs = performance.now() - t0;

    // ---- everything ends, with all four workers up ----
    await within(Promise.all([...alive.values()].map((p) => p.ready)), 60_000, "the restarted workers to start");
    const open = () => db.store.query<{ n: number }>(`SELECT count(*)::int AS n FROM runs WHERE status NOT IN ('completed', 'failed', 'cancelled')`);
    await until(async () => (await open())[0]?.n === 0, "every run to end", 90_000, async () => {
      const rows = await db.store.query("SELECT id, workflow, status, wake_at, lease_owner, lease_expires_at, epoch FROM runs WHERE status NOT IN ('completed', 'failed', 'cancelled') LIMIT 5");
      return `${(await open())[0]?.n} runs open, e.g. ${JSON.stringify(rows)} (now ${Date.now()})`;
    });
    const finishMs = performance.now() - t0 - loopMs;
    for (const p of alive.values()) {
      assert.equal(p.exited, false, `worker ${p.id} (pid ${p.pid}) died on its own: ${p.stderr.join("")}`);
      const end = await p.stop();
      assert.equal(end.code, 0, `worker ${p.id} exited with ${end.code}/${end.signal}: ${p.stderr.join("")}`);
    }

    // ---- verify the store ----
    const problems: string[] = [];
    const check = (ok: boolean, msg: () => string) => {
      if (!ok && problems.length < 1_000) problems.push(msg());
    };
    const runs = await db.store.query<RunRow>("SELECT id, workflow, key, status, input, output, error, parent_id, epoch FROM runs");
    const entries = await db.store.query<EntryRow>("SELECT run_id, seq, kind, name, status, attempt, value, ref FROM entries ORDER BY run_id, seq");
    const journals = new Map<string, EntryRow[]>();
    for (const e of entries) journals.set(e.run_id, [...(journals.get(e.run_id) ?? []), e]);
    const byId = new Map(runs.map((r) => [r.id, r]));
    const mains = runs.filter((r) => r.workflow === "cluster.mixed");
    const children = runs.filter((r) => r.workflow === "cluster.child");
    const childShaped = Array.from({ length: RUNS }, (_, n) => n).filter((n) => shapeOf(n) === "child").length;
    assert.equal(mains.length, RUNS, "runs started by the clients: none lost, none doubled");
    assert.equal(new Set(mains.map((r) => r.key)).size, RUNS, "one run per idempotency key");
    assert.equal(children.length, childShaped, "child runs: one per run of shape child, no orphans from a kill between insert and journal");
    assert.equal(runs.length, RUNS + childShaped, "no other runs");
    assert.deepEqual(runs.filter((r) => r.status !== "completed").slice(0, 10).map((r) => `${r.workflow} ${r.id} ${r.status}: ${r.error}`), [], "every run completed");

    /** Step entries: `${runId} ${seq}` -> the attempt, worker and process that produced the recorded value. */
    const recorded = new Map<string, StepValue>();
    const shapeOk = (r: RunRow, shape: [string, string][]): EntryRow[] => {
      const j = journals.get(r.id) ?? [];
      check(JSON.stringify(j.map((e) => [e.kind, e.name])) === JSON.stringify(shape) && j.every((e, i) => e.seq === i + 1),
        () => `run ${r.id} (${r.workflow}): journal ${JSON.stringify(j.map((e) => [e.seq, e.kind, e.name]))}, expected ${JSON.stringify(shape)}`);
      for (const e of j) {
        check(e.status === "completed", () => `run ${r.id} #${e.seq} ${e.kind} "${e.name}" is ${e.status}`);
        if (e.kind !== "step") continue;
        const v = JSON.parse(e.value ?? "null") as StepValue;
        check(v?.a === e.attempt, () => `run ${r.id} #${e.seq} "${e.name}": value from attempt ${v?.a}, but ${e.attempt} attempts started`);
        recorded.set(`${r.id} ${e.seq}`, v);
      }
      return j;
    };
    const stepOf = (j: EntryRow[], name: string) => JSON.parse(j.find((e) => e.kind === "step" && e.name === name)?.value ?? "null") as StepValue;
    let finishedByOther = 0;
    let epochAbove1 = 0;
    for (const r of mains) {
      const n = (JSON.parse(r.input) as { n: number }).n;
      const j = shapeOk(r, mixedJournal(n));
      const out = JSON.parse(r.output ?? "null") as MixedOutput;
      if (r.epoch > 1) epochAbove1++;
      check(out?.total === expectedTotal(n), () => `run mix-${n} (${r.id}, ${shapeOf(n)}) returned ${JSON.stringify(out)}, expected total ${expectedTotal(n)}`);
      const steps = j.filter((e) => e.kind === "step").map((e) => JSON.parse(e.value ?? "null") as StepValue);
      // What the workflow saw is what the journal holds: no recorded value was replaced after it was used.
      check(JSON.stringify(out?.attempts) === JSON.stringify(steps.map((s) => s?.a)) && JSON.stringify(out?.workers) === JSON.stringify(steps.map((s) => s?.w)),
        () => `run mix-${n}: output attempts/workers ${JSON.stringify(out)} differ from the journal ${JSON.stringify(steps)}`);
      const s1 = steps[0];
      for (const s of steps.slice(1, -1)) check(s?.from[0] === s1?.a, () => `run mix-${n}: a step used s1 of attempt ${s?.from[0]}, the journal has ${s1?.a}`);
      const end = stepOf(j, "end");
      check(JSON.stringify(end?.from) === JSON.stringify(steps.slice(1, -1).map((s) => s?.a)), () => `run mix-${n}: step "end" used ${JSON.stringify(end?.from)}`);
      if (out && out.workers[0] !== out.workers.at(-1)) finishedByOther++;
      if (shapeOf(n) === "event") {
        const ev = j.find((e) => e.kind === "event");
        check(ev?.value === JSON.stringify(eventPayload(n)) && ev?.ref === `go-${n}`, () => `run mix-${n}: event entry ${JSON.stringify(ev)}`);
      }
      if (shapeOf(n) === "child") {
        const inv = j.find((e) => e.kind === "invoke");
        const c = byId.get(inv?.ref ?? "");
        check(c?.parent_id === r.id, () => `run mix-${n}: invoke points at ${inv?.ref}, which is not its child`);
        if (!c) continue;
        const cj = shapeOk(c, CHILD_JOURNAL);
        const cout = JSON.parse(c.output ?? "null") as ChildOutput;
        const [c1, c2] = [stepOf(cj, "c1"), stepOf(cj, "c2")];
        check(cout?.total === 10 * n + 5, () => `child of mix-${n} returned ${JSON.stringify(cout)}`);
        check(inv?.value === c.output, () => `run mix-${n}: invoke recorded ${inv?.value}, the child returned ${c.output}`);
        check(JSON.stringify(cout?.attempts) === JSON.stringify([c1?.a, c2?.a]) && JSON.stringify(c2?.from) === JSON.stringify([c1?.a]), () => `child of mix-${n}: attempts differ from its journal`);
        check(JSON.stringify(stepOf(j, "s2")?.from) === JSON.stringify([s1?.a, ...(cout?.attempts ?? [])]), () => `run mix-${n}: s2 used child attempts ${JSON.stringify(stepOf(j, "s2")?.from)}`);
      }
    }

    // Events: one kept per "event" run (duplicates refused), consumed by its wait (seq 2).
    const evRows = await db.store.query<{ run_id: string; event_id: string; consumed_seq: number | null }>("SELECT run_id, event_id, consumed_seq FROM events");
    const eventShaped = mains.filter((r) => shapeOf((JSON.parse(r.input) as { n: number }).n) === "event");
    check(evRows.length === eventShaped.length, () => `${evRows.length} events stored, expected ${eventShaped.length}`);
    for (const e of evRows) check(e.consumed_seq === 2, () => `event ${e.event_id} of run ${e.run_id}: consumed by seq ${e.consumed_seq}`);

    // ---- the side-effect logs ----
    const { lines, bad } = readLogs(dir);
    for (const b of bad) problems.push(`log: unreadable line ${b}`);
    const byKey = new Map<string, typeof lines>();
    for (const l of lines) byKey.set(l.key, [...(byKey.get(l.key) ?? []), l]);
    let bodies = 0;
    let onPurpose = 0;
    let cutMidBody = 0;
    let rerunAfterBodyEnded = 0;
    let rerunBySurvivor = 0;
    let rerunByOtherWorker = 0;
    for (const [key, ls] of byKey) {
      const rec = recorded.get(key);
      check(rec !== undefined, () => `log: a body ran for ${key}, which is no step in the journal`);
      const starts = ls.filter((l) => l.tag === "B").sort((a, b) => a.attempt - b.attempt);
      const has = (tag: string, attempt: number, pid?: number) => ls.some((l) => l.tag === tag && l.attempt === attempt && (pid === undefined || l.pid === pid));
      bodies += starts.length;
      onPurpose += ls.filter((l) => l.tag === "F").length;
      check(new Set(starts.map((s) => s.attempt)).size === starts.length, () => `log: step ${key} started the same attempt twice: ${JSON.stringify(starts)}`);
      for (let i = 1; i < starts.length; i++) {
        const prev = starts[i - 1] as (typeof starts)[number];
        const next = starts[i] as (typeof starts)[number];
        check(next.at >= prev.at, () => `log: step ${key} attempt ${next.attempt} started before attempt ${prev.attempt}`);
        if (has("F", prev.attempt, prev.pid)) continue;
        // Not a failure on purpose: the process running the attempt before must have been killed before this one started.
        const killed = killedAt.get(prev.pid);
        check(killed !== undefined && killed <= next.at,
          () => `log: step ${key} attempt ${next.attempt} started at ${next.at} on ${next.worker} (pid ${next.pid}) while attempt ${prev.attempt} on ${prev.worker} (pid ${prev.pid}) had neither failed nor been killed (kill sent at ${killed})`);
        if (has("E", prev.attempt, prev.pid)) rerunAfterBodyEnded++;
        else cutMidBody++;
        if (SURVIVORS.includes(next.worker)) rerunBySurvivor++;
        if (next.worker !== prev.worker) rerunByOtherWorker++;
      }
      if (!rec) continue;
      const last = starts.at(-1);
      check(last?.attempt === rec.a, () => `log: step ${key} recorded from attempt ${rec.a}, but attempt ${last?.attempt} started last`);
      check(has("E", rec.a, rec.pid) && ls.some((l) => l.tag === "E" && l.attempt === rec.a && l.worker === rec.w),
        () => `log: step ${key} recorded from attempt ${rec.a} on ${rec.w} (pid ${rec.pid}), whose body never ended there`);
    }
    for (const key of recorded.keys()) check(byKey.has(key), () => `log: step ${key} is recorded but no body of it ever ran`);

    // ---- takeovers: from the claim log ----
    const claims = await claimLog(db.store);
    const takeovers = claims.filter((c) => c.old_status === "running");
    for (const c of takeovers) {
      check(c.old_lease_expires_at !== null && c.claimed_at >= c.old_lease_expires_at,
        () => `run ${c.run_id} was taken from ${c.old_owner} by ${c.new_owner} at ${c.claimed_at}, before its lease expired at ${c.old_lease_expires_at}`);
      check(VICTIMS.includes(c.old_owner ?? ""), () => `run ${c.run_id} was taken from ${c.old_owner}, a worker that was never killed (it lost its lease while alive)`);
    }
    let orphans = 0;
    let bySurvivor = 0;
    let bySameId = 0;
    const delays: number[] = [];
    const afterExpiry: number[] = [];
    for (const kill of kills) {
      for (const o of kill.orphans) {
        orphans++;
        const c = claims.find((x) => x.run_id === o.id && x.old_epoch === o.epoch);
        check(c?.old_status === "running" && c.old_owner === kill.victim,
          () => `kill ${kill.k}: run ${o.id} held by ${kill.victim} at epoch ${o.epoch} was not taken over (next claim: ${JSON.stringify(c)})`);
        if (!c) continue;
        check(c.claimed_at >= o.lease_expires_at, () => `kill ${kill.k}: run ${o.id} taken over at ${c.claimed_at}, before the lease expired at ${o.lease_expires_at}`);
        if (SURVIVORS.includes(c.new_owner ?? "")) bySurvivor++;
        else if (c.new_owner === kill.victim) bySameId++;
        delays.push(c.claimed_at - kill.sentAt);
        afterExpiry.push(c.claimed_at - o.lease_expires_at);
      }
    }

    const totalMs = performance.now() - t0;
    const figures = {
      seed: SEED, runs: runs.length, mixed: mains.length, children: children.length, steps: recorded.size, bodiesStarted: bodies,
      failedOnPurpose: onPurpose, kills: kills.length, restarts: kills.length, workerLives: lives, orphans, orphansTakenOverBySurvivor: bySurvivor,
      orphansTakenOverBySameIdRestarted: bySameId, takeovers: takeovers.length,
      takeoverAfterKillMs: { p50: percentile(delays, 50), max: Math.max(...delays) }, takeoverAfterLeaseExpiryMs: { p50: percentile(afterExpiry, 50), max: Math.max(...afterExpiry) },
      cutMidBody, rerunAfterBodyEnded, rerunBySurvivor, rerunOnOtherWorker: rerunByOtherWorker, finishedByOtherWorker: finishedByOther,
      runsWithFinalEpochAbove1: epochAbove1, events: evRows.length, eventsSent, duplicateEventsRefused: duplicatesRefused,
      loopMs: Math.round(loopMs), finishMs: Math.round(finishMs), totalMs: Math.round(totalMs),
    };
    console.log(`cluster workers figures: ${JSON.stringify(figures)}`);
    t.diagnostic(JSON.stringify(figures));
    const stderr = procs.map((p) => p.stderr.join("")).filter(Boolean);
    if (stderr.length) t.diagnostic(`worker stderr:\n${stderr.join("\n").slice(0, 4_000)}`);
    assert.deepEqual(problems.slice(0, 30), [], `${problems.length} problems (seed ${SEED})`);
    // The test exercised what it claims to.
    assert.ok(orphans > 0, "no kill left a run behind: the kills missed the work");
    assert.ok(bySurvivor > 0, "no orphaned run was taken over by a surviving worker");
    assert.ok(cutMidBody > 0, "no kill cut a step body");
    failed = false;
  } finally {
    aborted = true;
    await Promise.all(background);
    await killAll(procs);
    await client.close();
    if (failed && process.env.CLUSTER_KEEP) {
      await db.store.close();
      console.log(`cluster workers test: kept ${dir} and schema ${db.schema} (seed ${SEED})`);
    } else {
      await db.drop();
      rmSync(dir, { recursive: true, force: true });
    }
  }
});
