/**
 * The end-state checks of the cluster tests that run `cluster.mixed`: every run and child there,
 * completed, with the journal, the output and the values it must have; events consumed once; the
 * side-effect logs agree with the journal (each step recorded from the last attempt that started,
 * whose body ended in the process the value names); every re-run of a body is explained.
 */
import type { PostgresStore } from "../../src/store/postgres/index.ts";
import { type LogLine, readLogs } from "./cluster.ts";
import {
  CHILD_JOURNAL,
  type ChildOutput,
  eventPayload,
  expectedTotal,
  type MixedOutput,
  mixedJournal,
  shapeOf,
  type StepValue,
} from "./procs/workflows.ts";

interface RunRow {
  id: string;
  workflow: string;
  key: string | null;
  status: string;
  input: string;
  output: string | null;
  error: string | null;
  parent_id: string | null;
  epoch: number;
}
interface EntryRow {
  run_id: string;
  seq: number;
  kind: string;
  name: string;
  status: string;
  attempt: number;
  value: string | null;
  ref: string | null;
}

export interface MixedReport {
  problems: string[];
  runs: number;
  mixed: number;
  children: number;
  steps: number;
  bodiesStarted: number;
  failedOnPurpose: number;
  /** Re-runs of a body that neither failed on purpose: by the reason `explain` gave. */
  reruns: Record<string, number>;
  cutMidBody: number;
  rerunAfterBodyEnded: number;
  rerunOnOtherWorker: number;
  /** Runs whose last step ran on another worker than their first. */
  finishedByOtherWorker: number;
  runsWithFinalEpochAbove1: number;
  events: number;
}

/**
 * `explain(prev, next)`: why attempt `next` of a step could start although attempt `prev` did not fail
 * on purpose (e.g. "its process was killed"), or null if nothing explains it (a problem).
 */
export async function checkMixedRuns(
  store: PostgresStore,
  expectedRuns: number,
  logDir: string,
  explain: (prev: LogLine, next: LogLine) => string | null,
): Promise<MixedReport> {
  const problems: string[] = [];
  const check = (ok: boolean, msg: () => string) => {
    if (!ok && problems.length < 1_000) problems.push(msg());
  };
  const runs = await store.query<RunRow>(
    "SELECT id, workflow, key, status, input, output, error, parent_id, epoch FROM runs",
  );
  const entries = await store.query<EntryRow>(
    "SELECT run_id, seq, kind, name, status, attempt, value, ref FROM entries ORDER BY run_id, seq",
  );
  const journals = new Map<string, EntryRow[]>();
  for (const e of entries) {
    const j = journals.get(e.run_id);
    if (j) j.push(e);
    else journals.set(e.run_id, [e]);
  }
  const byId = new Map(runs.map((r) => [r.id, r]));
  const mains = runs.filter((r) => r.workflow === "cluster.mixed");
  const children = runs.filter((r) => r.workflow === "cluster.child");
  const childShaped = Array.from({ length: expectedRuns }, (_, n) => n).filter((n) => shapeOf(n) === "child").length;
  check(
    mains.length === expectedRuns,
    () => `${mains.length} runs of cluster.mixed, expected ${expectedRuns}: runs lost or doubled`,
  );
  check(new Set(mains.map((r) => r.key)).size === mains.length, () => "two runs share an idempotency key");
  const keys = new Set(mains.map((r) => r.key));
  for (let n = 0; n < expectedRuns; n++) check(keys.has(`mix-${n}`), () => `run mix-${n} is missing`);
  check(
    children.length === childShaped,
    () =>
      `${children.length} child runs, expected ${childShaped}: one per run of shape child (no orphan from an insert whose journal entry was lost)`,
  );
  check(
    runs.length === mains.length + children.length,
    () => `${runs.length - mains.length - children.length} runs of other workflows`,
  );
  for (const r of runs)
    check(r.status === "completed", () => `${r.workflow} ${r.id} (${r.key}) is ${r.status}: ${r.error}`);

  /** Step entries: `${runId} ${seq}` -> the attempt, worker and process that produced the recorded value. */
  const recorded = new Map<string, StepValue>();
  const journalOf = (r: RunRow, shape: [string, string][]): EntryRow[] => {
    const j = journals.get(r.id) ?? [];
    check(
      JSON.stringify(j.map((e) => [e.kind, e.name])) === JSON.stringify(shape) && j.every((e, i) => e.seq === i + 1),
      () =>
        `run ${r.id} (${r.workflow}): journal ${JSON.stringify(j.map((e) => [e.seq, e.kind, e.name]))}, expected ${JSON.stringify(shape)}`,
    );
    for (const e of j) {
      check(e.status === "completed", () => `run ${r.id} #${e.seq} ${e.kind} "${e.name}" is ${e.status}`);
      if (e.kind !== "step") continue;
      const v = JSON.parse(e.value ?? "null") as StepValue;
      check(
        v?.a === e.attempt,
        () => `run ${r.id} #${e.seq} "${e.name}": value from attempt ${v?.a}, but ${e.attempt} attempts started`,
      );
      recorded.set(`${r.id} ${e.seq}`, v);
    }
    return j;
  };
  const stepOf = (j: EntryRow[], name: string) =>
    JSON.parse(j.find((e) => e.kind === "step" && e.name === name)?.value ?? "null") as StepValue;
  let finishedByOther = 0;
  let epochAbove1 = 0;
  for (const r of mains) {
    const n = (JSON.parse(r.input) as { n: number }).n;
    const j = journalOf(r, mixedJournal(n));
    const out = JSON.parse(r.output ?? "null") as MixedOutput;
    if (r.epoch > 1) epochAbove1++;
    check(
      out?.total === expectedTotal(n),
      () => `run mix-${n} (${r.id}, ${shapeOf(n)}) returned ${JSON.stringify(out)}, expected total ${expectedTotal(n)}`,
    );
    const steps = j.filter((e) => e.kind === "step").map((e) => JSON.parse(e.value ?? "null") as StepValue);
    // What the workflow saw is what the journal holds: no recorded value was replaced after it was used.
    check(
      JSON.stringify(out?.attempts) === JSON.stringify(steps.map((s) => s?.a)) &&
        JSON.stringify(out?.workers) === JSON.stringify(steps.map((s) => s?.w)),
      () =>
        `run mix-${n}: output attempts/workers ${JSON.stringify(out)} differ from the journal ${JSON.stringify(steps)}`,
    );
    const s1 = steps[0];
    for (const s of steps.slice(1, -1))
      check(
        s?.from[0] === s1?.a,
        () => `run mix-${n}: a step used s1 of attempt ${s?.from[0]}, the journal has ${s1?.a}`,
      );
    const end = stepOf(j, "end");
    check(
      JSON.stringify(end?.from) === JSON.stringify(steps.slice(1, -1).map((s) => s?.a)),
      () => `run mix-${n}: step "end" used ${JSON.stringify(end?.from)}`,
    );
    if (out && out.workers[0] !== out.workers.at(-1)) finishedByOther++;
    if (shapeOf(n) === "event") {
      const ev = j.find((e) => e.kind === "event");
      check(
        ev?.value === JSON.stringify(eventPayload(n)) && ev?.ref === `go-${n}`,
        () => `run mix-${n}: event entry ${JSON.stringify(ev)}`,
      );
    }
    if (shapeOf(n) === "child") {
      const inv = j.find((e) => e.kind === "invoke");
      const c = byId.get(inv?.ref ?? "");
      check(c?.parent_id === r.id, () => `run mix-${n}: invoke points at ${inv?.ref}, which is not its child`);
      if (!c) continue;
      const cj = journalOf(c, CHILD_JOURNAL);
      const cout = JSON.parse(c.output ?? "null") as ChildOutput;
      const [c1, c2] = [stepOf(cj, "c1"), stepOf(cj, "c2")];
      check(cout?.total === 10 * n + 5, () => `child of mix-${n} returned ${JSON.stringify(cout)}`);
      check(
        inv?.value === c.output,
        () => `run mix-${n}: invoke recorded ${inv?.value}, the child returned ${c.output}`,
      );
      check(
        JSON.stringify(cout?.attempts) === JSON.stringify([c1?.a, c2?.a]) &&
          JSON.stringify(c2?.from) === JSON.stringify([c1?.a]),
        () => `child of mix-${n}: attempts differ from its journal`,
      );
      check(
        JSON.stringify(stepOf(j, "s2")?.from) === JSON.stringify([s1?.a, ...(cout?.attempts ?? [])]),
        () => `run mix-${n}: s2 used child attempts ${JSON.stringify(stepOf(j, "s2")?.from)}`,
      );
    }
  }

  // Events: one kept per "event" run (duplicates refused), consumed by its wait (seq 2).
  const evRows = await store.query<{ run_id: string; event_id: string; consumed_seq: number | null }>(
    "SELECT run_id, event_id, consumed_seq FROM events",
  );
  const eventShaped = mains.filter((r) => shapeOf((JSON.parse(r.input) as { n: number }).n) === "event");
  check(evRows.length === eventShaped.length, () => `${evRows.length} events stored, expected ${eventShaped.length}`);
  for (const e of evRows)
    check(e.consumed_seq === 2, () => `event ${e.event_id} of run ${e.run_id}: consumed by seq ${e.consumed_seq}`);

  // ---- the side-effect logs ----
  const { lines, bad } = readLogs(logDir);
  for (const b of bad) problems.push(`log: unreadable line ${b}`);
  const byKey = new Map<string, LogLine[]>();
  for (const l of lines) {
    const ls = byKey.get(l.key);
    if (ls) ls.push(l);
    else byKey.set(l.key, [l]);
  }
  const report = {
    bodiesStarted: 0,
    failedOnPurpose: 0,
    cutMidBody: 0,
    rerunAfterBodyEnded: 0,
    rerunOnOtherWorker: 0,
    reruns: {} as Record<string, number>,
  };
  for (const [key, ls] of byKey) {
    const rec = recorded.get(key);
    check(rec !== undefined, () => `log: a body ran for ${key}, which is no step in the journal`);
    const starts = ls.filter((l) => l.tag === "B").sort((a, b) => a.attempt - b.attempt);
    const has = (tag: string, attempt: number, pid: number) =>
      ls.some((l) => l.tag === tag && l.attempt === attempt && l.pid === pid);
    report.bodiesStarted += starts.length;
    report.failedOnPurpose += ls.filter((l) => l.tag === "F").length;
    check(
      new Set(starts.map((s) => s.attempt)).size === starts.length,
      () => `log: step ${key} started the same attempt twice: ${JSON.stringify(starts)}`,
    );
    for (let i = 1; i < starts.length; i++) {
      const prev = starts[i - 1] as LogLine;
      const next = starts[i] as LogLine;
      check(
        next.at >= prev.at,
        () => `log: step ${key} attempt ${next.attempt} started before attempt ${prev.attempt}`,
      );
      if (has("F", prev.attempt, prev.pid)) continue;
      const why = explain(prev, next);
      check(
        why !== null,
        () =>
          `log: step ${key} attempt ${next.attempt} started at ${next.at} on ${next.worker} (pid ${next.pid}) while attempt ${prev.attempt} (started at ${prev.at} on ${prev.worker}, pid ${prev.pid}) had not failed, and nothing explains it (no kill of that process, no outage)`,
      );
      if (why === null) continue;
      report.reruns[why] = (report.reruns[why] ?? 0) + 1;
      if (has("E", prev.attempt, prev.pid)) report.rerunAfterBodyEnded++;
      else report.cutMidBody++;
      if (next.worker !== prev.worker) report.rerunOnOtherWorker++;
    }
    if (!rec) continue;
    const last = starts.at(-1);
    check(
      last?.attempt === rec.a,
      () => `log: step ${key} recorded from attempt ${rec.a}, but attempt ${last?.attempt} started last`,
    );
    check(
      has("E", rec.a, rec.pid) && ls.some((l) => l.tag === "E" && l.attempt === rec.a && l.worker === rec.w),
      () =>
        `log: step ${key} recorded from attempt ${rec.a} on ${rec.w} (pid ${rec.pid}), whose body never ended there`,
    );
  }
  for (const key of recorded.keys())
    check(byKey.has(key), () => `log: step ${key} is recorded but no body of it ever ran`);

  return {
    problems,
    runs: runs.length,
    mixed: mains.length,
    children: children.length,
    steps: recorded.size,
    ...report,
    finishedByOtherWorker: finishedByOther,
    runsWithFinalEpochAbove1: epochAbove1,
    events: evRows.length,
  };
}
