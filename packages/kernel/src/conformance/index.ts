/**
 * The kernel's conformance suite, for the author of a `Store`: the promises every store keeps
 * (durable steps and replay, events, timers, children, retries, leases and fencing, idempotency,
 * concurrency lanes, schedules, streams, one run's writes isolated from another's), checked through a
 * real kernel on real data. The kernel's own tests run it on SQLite and Postgres (`test/*.test.ts`).
 *
 *     // mystore.test.ts, run with `node --test`
 *     import { runConformance } from "@agentd/kernel/conformance";
 *     runConformance({
 *       name: "mystore",
 *       async temp(t) {
 *         const place = await freshDatabase();
 *         const store = await openMyStore(place);
 *         const opened = [store];
 *         t.after(async () => { for (const s of opened) await s.close(); await dropDatabase(place); });
 *         const open = async () => { const s = await openMyStore(place); opened.push(s); return s; };
 *         return { store, open, where: place.name };
 *       },
 *     });
 *
 * It registers `node:test` tests (describe(backend name) › describe(suite) › test); `only` runs some suites.
 */
import { describe } from "node:test";
import type { Backend } from "./backend.ts";
import { badInput } from "./bad-input.ts";
import { children } from "./children.ts";
import { commitIsolation } from "./commit-isolation.ts";
import { concurrency } from "./concurrency.ts";
import { continueAsNew } from "./continue-as-new.ts";
import { events } from "./events.ts";
import { failures } from "./failures.ts";
import { groupCommit } from "./group-commit.ts";
import { hotCache } from "./hot-cache.ts";
import { idempotencyKeys } from "./idempotency-keys.ts";
import { laneReads } from "./lane-reads.ts";
import { laneStart } from "./lane-start.ts";
import { leases } from "./leases.ts";
import { retries } from "./retries.ts";
import { retryResume } from "./retry-resume.ts";
import { scheduleOptions } from "./schedule-options.ts";
import { schedulePreclaim } from "./schedule-preclaim.ts";
import { scheduleUpdate } from "./schedule-update.ts";
import { schedules } from "./schedules.ts";
import { startRenewal } from "./start-renewal.ts";
import { steps } from "./steps.ts";
import { unmarkedSteps } from "./unmarked-steps.ts";
import { streams } from "./streams.ts";
import { versioning } from "./versioning.ts";
import { wakeups } from "./wakeups.ts";

export type { Backend, TempStore, TestScope } from "./backend.ts";

/** Every suite, by name (the kernel's `test/<name>.test.ts` runs that one). */
export const SUITES = {
  // The run: steps and replay, failures, retries and what retry() resumes, children, events, timers.
  steps,
  "unmarked-steps": unmarkedSteps,
  failures,
  retries,
  "retry-resume": retryResume,
  children,
  events,
  wakeups,
  "continue-as-new": continueAsNew,
  // Starting runs: idempotency keys, concurrency lanes, workflow versions, bad input refused.
  "idempotency-keys": idempotencyKeys,
  concurrency,
  "lane-start": laneStart,
  "lane-reads": laneReads,
  versioning,
  "bad-input": badInput,
  // Workers: leases and fencing, the lease of a run started locally, hot resumption.
  leases,
  "start-renewal": startRenewal,
  "hot-cache": hotCache,
  // Writes: group commit, one run's writes never touching another's.
  "group-commit": groupCommit,
  "commit-isolation": commitIsolation,
  // Schedules and streams.
  schedules,
  "schedule-options": scheduleOptions,
  "schedule-update": scheduleUpdate,
  "schedule-preclaim": schedulePreclaim,
  streams,
} satisfies Record<string, (backend: Backend) => void>;

export type SuiteName = keyof typeof SUITES;

/** Registers the conformance tests for `backend` (every suite, or those in `only`). */
export function runConformance(backend: Backend, opts: { only?: readonly SuiteName[] } = {}): void {
  const names = opts.only ?? (Object.keys(SUITES) as SuiteName[]);
  for (const name of names)
    if (!(name in SUITES))
      throw new Error(`runConformance: no suite "${name}" (known: ${Object.keys(SUITES).join(", ")})`);
  describe(backend.name, () => {
    for (const name of names) describe(name, () => SUITES[name](backend));
  });
}
