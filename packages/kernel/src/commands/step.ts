import { toMs } from "../duration.ts";
import {
  FatalError,
  InvalidArgumentError,
  KernelError,
  StepFailedError,
  StepTimeoutError,
  type StoredError,
  toStoredError,
} from "../errors.ts";
import { decodeJson, encodeJson } from "../json.ts";
import { resolveRetry, retryDelay } from "../retry.ts";
import type { EntryRecord } from "../store/types.ts";
import type { StepContext, StepOptions } from "../workflow.ts";
import { checkName } from "./names.ts";
import type { StepTelemetry } from "../telemetry/index.ts";
import { REDACTED } from "../telemetry/log.ts";
import { type Abortable, type Admission, type CommandScope, never } from "./scope.ts";

/**
 * ctx.step: the attempt marker is made durable before the body runs (so a crash spends an attempt),
 * the result is queued and committed with whatever the run does next (group commit). With
 * `startMarker: false` the body runs at once (once its lane admitted the run) and only its outcome is
 * written (a crash spends nothing).
 */
export async function step<T>(
  s: CommandScope,
  name: string,
  fn: (c: StepContext) => Promise<T> | T,
  options: StepOptions = NO_OPTIONS,
): Promise<T> {
  checkName("ctx.step", name);
  if (typeof fn !== "function")
    throw new InvalidArgumentError(`ctx.step("${name}") needs a function as its second argument.`);
  const policy = resolveRetry(options.retry, s.wf.retry);
  const timeoutMs = options.timeout === undefined ? s.wf.stepTimeoutMs : toMs(options.timeout);
  const at = s.next("step", name);
  if (!at) return never();
  const [seq, entry] = at;
  if (entry?.status === "completed") return decodeJson(entry.value) as T;
  if (entry?.status === "failed") {
    s.failed(entry);
    throw stepFailed(s.runId, entry);
  }
  const rec = entry ? { ...entry } : s.entry(seq, "step", name, "running");
  if (rec.status === "retrying" && rec.wakeAt !== null) await s.until(rec.wakeAt);
  else if (rec.status === "running" && rec.attempt >= policy.maxAttempts) {
    // The worker running the last allowed attempt stopped: that attempt counts, so the budget is spent.
    return failStep(s, rec, { name: "WorkerLost", message: `the worker stopped during attempt ${rec.attempt}` });
  }
  const marked = options.startMarker !== false;
  // Unmarked, its outcome never counts from before its lane admits the run: a read then could see the
  // state before the lane's previous run ended (a session's last reply not yet there). It reads early
  // only when the admitting commit can tell whether a run of the lane ended meanwhile, and reads again if so.
  const admission = marked ? null : s.admission();
  if (admission && !admission.early && !(await s.track(admission.verdict))) return never();
  let early = admission?.early ? admission : null;
  for (;;) {
    rec.attempt++;
    rec.status = "running";
    rec.wakeAt = null;
    if (marked) {
      s.put(rec);
      if (!(await s.durable())) return never();
    } else if (!s.live) return never();
    const secret = options.secret === true;
    const tel = s.stepTelemetry(seq, name, rec.attempt, secret);
    const run = () => attempt(s, seq, name, rec.attempt, fn, timeoutMs, tel);
    const before = early;
    early = null;
    try {
      const value = before ? await admitted(s, before, run) : await run();
      rec.value = encodeJson(value, `the result of step "${name}" (run ${s.runId})`, s.host.maxValueBytes);
      tel?.end();
      rec.status = "completed"; // error keeps the last failed attempt's, for people reading the journal
      s.put(rec);
      return value as T;
    } catch (e) {
      if (!s.live) {
        tel?.end(stored(e, secret));
        return never();
      }
      const code = KernelError.is(e) ? e.code : "";
      const fatal = FatalError.is(e) || code === "not_serializable" || code === "value_too_large";
      if (fatal || rec.attempt >= policy.maxAttempts) {
        tel?.end(stored(e, secret));
        return failStep(s, rec, stored(e, secret));
      }
      const delay = retryDelay(policy, rec.attempt, e);
      tel?.end(stored(e, secret), delay);
      rec.status = "retrying";
      rec.wakeAt = s.host.clock.now() + delay;
      rec.error = stored(e, secret);
      s.put(rec);
      await s.until(rec.wakeAt);
    }
  }
}

/**
 * One attempt of the body. Not an async function: its frame and the await in it were a quarter of the
 * garbage a trivial step makes, and a run with many steps in flight keeps that garbage alive until its
 * commit (the throughput workload's GC was a fifth of its CPU).
 */
function attempt<T>(
  s: CommandScope,
  seq: number,
  name: string,
  n: number,
  fn: (c: StepContext) => Promise<T> | T,
  timeoutMs: number | null,
  tel: StepTelemetry | null,
): Promise<T> {
  const stop = new AttemptStop();
  s.controllers.add(stop);
  // A plain property: a getter in this literal (to make the AbortController only when read) made every
  // step slower (A/B, 8 reps a side at load 2: 21.7 -> 26.1 us of CPU a step), more than the controller costs.
  const ctx: StepContext = {
    signal: stop.signal,
    idempotencyKey: `${s.runId}:${seq}`,
    attempt: n,
    runId: s.runId,
    publish: (data) => {
      if (!stop.stopped) s.publish(seq, n, data);
    },
  };
  const clock = s.host.clock;
  const timer =
    timeoutMs === null
      ? null
      : clock.setTimer(() => stop.abort(new StepTimeoutError(s.runId, name, timeoutMs)), timeoutMs);
  const body = () => fn(ctx);
  // The body may ignore its signal; the attempt ends at the abort regardless and a late result is dropped.
  const ended = new Promise<T>((resolve, reject) => {
    stop.onAbort = reject;
    Promise.resolve()
      .then(() => (tel ? tel.run(body) : body()))
      .then(resolve, reject);
  });
  const out = s.track(ended);
  // Before the caller goes on (its reaction comes after this one).
  const done = () => {
    if (timer !== null) clock.clearTimer(timer);
    s.controllers.delete(stop);
  };
  out.then(done, done);
  return out;
}

/**
 * How a step attempt is stopped (the run ended or was lost, or the step timed out): the attempt's
 * promise is rejected directly, with no abort listener on the signal (a listener a step was about
 * 2.5 % of a trivial step's CPU on SQLite).
 */
class AttemptStop implements Abortable {
  #ac: AbortController | null = null;
  #stopped = false;
  #reason: unknown;
  onAbort: ((reason: unknown) => void) | null = null;

  get stopped(): boolean {
    return this.#stopped;
  }

  get signal(): AbortSignal {
    if (!this.#ac) {
      this.#ac = new AbortController();
      if (this.#stopped) this.#ac.abort(this.#reason);
    }
    return this.#ac.signal;
  }

  abort(reason?: unknown): void {
    if (this.#stopped) return;
    // No reason given: the signal's own (an AbortError), as AbortController.abort() gives.
    if (reason === undefined) (this.#ac ??= new AbortController()).abort();
    else this.#ac?.abort(reason);
    this.#stopped = true;
    this.#reason = reason ?? this.#ac?.signal.reason;
    this.onAbort?.(this.#reason);
  }
}

/** A body run before the commit admitting its run: its outcome stands if the read was fresh, else it runs again, admitted. */
async function admitted<T>(s: CommandScope, admission: Admission, run: () => Promise<T>): Promise<T> {
  const outcome = await run().then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  const verdict = await s.track(admission.verdict);
  if (verdict === false) return never();
  if (verdict === "stale") return run();
  if ("error" in outcome) throw outcome.error;
  return outcome.value;
}

/** A step's error as the journal keeps it: a secret step's may quote what it handles, so its message is kept out too. */
function stored(e: unknown, secret: boolean): StoredError {
  return secret ? { ...toStoredError(e), message: REDACTED, stack: undefined } : toStoredError(e);
}

/** No options: one object for every call that passes none. */
const NO_OPTIONS: StepOptions = Object.freeze({});

function stepFailed(runId: string, e: EntryRecord): StepFailedError {
  return new StepFailedError(runId, e.name, e.attempt, e.error?.name ?? "Error", e.error?.message ?? "", e.seq);
}

function failStep(s: CommandScope, rec: EntryRecord, error: StoredError): never {
  rec.status = "failed";
  rec.error = error;
  rec.wakeAt = null;
  s.put(rec);
  s.failed(rec);
  throw stepFailed(s.runId, rec);
}
