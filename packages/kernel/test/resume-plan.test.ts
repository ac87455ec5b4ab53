import assert from "node:assert/strict";
import { test } from "node:test";
import { planResume } from "../src/resume-plan.ts";
import type { EntryRecord } from "../src/store/types.ts";

// What kernel.retry() removes from a failed run's journal, as a pure function of the run's error and its journal.
const entry = (seq: number, status: EntryRecord["status"], extra: Partial<EntryRecord> = {}): EntryRecord => ({
  runId: "r",
  seq,
  kind: "step",
  name: `s${seq}`,
  status,
  attempt: 1,
  wakeAt: null,
  value: null,
  error: status === "failed" ? { name: "Error", message: "down" } : null,
  ref: null,
  startedAt: seq,
  updatedAt: seq,
  ...extra,
});
const handled = (seq: number, at: number) =>
  entry(seq, "failed", { error: { name: "Error", message: "down", handledAt: at } });

test("the failure that ended the run runs again; completed steps do not", () => {
  assert.deepEqual(
    planResume({ error: { name: "E", message: "", seq: 2 } }, [entry(1, "completed"), entry(2, "failed")]),
    { remove: [2], invokes: [] },
  );
});

test("a handled failure is kept; the later one that ended the run goes", () => {
  const journal = [handled(1, 2), entry(2, "completed"), entry(3, "failed")];
  assert.deepEqual(planResume({ error: { name: "E", message: "", seq: 3 } }, journal).remove, [3]);
});

test("compensation before a rethrow goes with the failure it answered; a completed invoke in it stays", () => {
  const journal = [handled(1, 2), entry(2, "completed"), entry(3, "completed", { kind: "invoke", ref: "child" })];
  assert.deepEqual(planResume({ error: { name: "E", message: "", seq: 1 } }, journal).remove, [1, 2]);
});

test("an error of the run's own after a handled failure (or a timeout) re-runs only the steps it cut short", () => {
  const journal = [handled(1, 2), entry(2, "completed"), entry(3, "running", { attempt: 3 })];
  assert.deepEqual(planResume({ error: { name: "RunTimeoutError", message: "" } }, journal).remove, [3]);
});

test("failures nothing came after are all re-run; a failed invoke is resumed through its child", () => {
  const journal = [entry(1, "failed"), entry(2, "failed", { kind: "invoke", ref: "c" }), entry(3, "completed")];
  assert.deepEqual(planResume({ error: { name: "E", message: "" } }, journal), {
    remove: [1],
    invokes: [{ seq: 2, childId: "c" }],
  });
});
