/**
 * Every error the kernel throws. Each has a string `code` and a message that names the operation
 * and the id, the consequence, and what to do. Identity checks use `is()` on a `Symbol.for` marker,
 * which survives duplicate installs and realms (an `instanceof` across two copies would not).
 */
const MARK = Symbol.for("agentd.kernel.error");

export type KernelErrorCode =
  | "fatal"
  | "retryable"
  | "non_determinism"
  | "not_serializable"
  | "value_too_large"
  | "duplicate_workflow"
  | "unknown_workflow"
  | "run_not_found"
  | "run_finished"
  | "run_not_failed"
  | "invalid_duration"
  | "invalid_retry_policy"
  | "invalid_argument"
  | "lease_lost"
  | "step_timeout"
  | "run_timeout"
  | "cancelled"
  | "step_failed"
  | "child_failed"
  | "run_failed"
  | "store_closed"
  | "schema_too_new"
  | "invalid_schedule"
  | "schedule_not_found"
  | "schedule_exists"
  | "stream_offset"
  | "store_unreachable"
  | "store_refused"
  | "key_conflict";

/** Base class of all kernel errors; `KernelError.is(e)` works across copies of the package. */
export class KernelError extends Error {
  readonly code: KernelErrorCode;
  constructor(code: KernelErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
    // The names of the class and its ancestors: what `X.is(e)` compares, so it works across package copies.
    const names: string[] = [];
    for (let c: unknown = new.target; typeof c === "function" && c !== Error; c = Object.getPrototypeOf(c))
      names.push((c as { name: string }).name);
    Object.defineProperty(this, MARK, { value: names });
  }
  /** True if `e` is an instance of this class (or a subclass), even from another copy of the package. */
  static is<T extends abstract new (...args: never[]) => KernelError>(this: T, e: unknown): e is InstanceType<T> {
    if (typeof e !== "object" || e === null) return false;
    const names = (e as Record<symbol, unknown>)[MARK];
    return Array.isArray(names) && names.includes(this.name);
  }
}

/** Thrown by a step body: the step fails now, without retrying. */
export class FatalError extends KernelError {
  constructor(message: string, options?: ErrorOptions) {
    super("fatal", message, options);
  }
}

/** Thrown by a step body: the attempt failed; retry after `retryAfterMs` (overrides the policy's delay). */
export class RetryableError extends KernelError {
  readonly retryAfterMs: number | undefined;
  constructor(message: string, options?: ErrorOptions & { retryAfterMs?: number }) {
    super("retryable", message, options);
    this.retryAfterMs = options?.retryAfterMs;
  }
}

/** Replay met a command that does not match the journal: the code changed under a running run. */
export class NonDeterminismError extends KernelError {
  constructor(runId: string, seq: number, expected: string, actual: string) {
    super(
      "non_determinism",
      `run ${runId} diverged from its journal at command #${seq}: the journal has ${expected} but the code now issues ${actual}. ` +
        "The workflow's code changed while this run was in flight; restore the old code (or version the workflow) and retry the run with kernel.retry().",
    );
  }
}

/** A step result, input or event payload is not plain JSON. */
export class NotSerializableError extends KernelError {
  constructor(what: string, path: string, why: string) {
    super(
      "not_serializable",
      `${what} is not JSON-serialisable at ${path}: ${why}. Return plain objects, arrays, strings, finite numbers, booleans or null ` +
        "(convert dates to ISO strings, maps to objects; store binary data as a blob and return its reference).",
    );
  }
}

/** A value is larger than the store accepts. */
export class ValueTooLargeError extends KernelError {
  constructor(what: string, bytes: number, limit: number) {
    super(
      "value_too_large",
      `${what} is ${bytes} bytes, over the limit of ${limit} bytes. Store large or binary data in a blob store and return its reference, ` +
        "or raise maxValueBytes in the kernel options.",
    );
  }
}

export class DuplicateWorkflowError extends KernelError {
  constructor(name: string) {
    super("duplicate_workflow", `workflow "${name}" is registered twice; give each workflow a unique name.`);
  }
}

export class UnknownWorkflowError extends KernelError {
  constructor(name: string, known: string[]) {
    super(
      "unknown_workflow",
      `workflow "${name}" is not registered with this kernel (known: ${known.length ? known.join(", ") : "none"}); pass it in the kernel's \`workflows\` option.`,
    );
  }
}

export class RunNotFoundError extends KernelError {
  constructor(what: string) {
    super("run_not_found", `no run ${what}; check the id (kernel.listRuns() lists runs).`);
  }
}

/** An operation needs a run in another state (an event for a finished run, a retry of a run that did not fail). */
export class RunFinishedError extends KernelError {
  readonly status: string;
  constructor(runId: string, status: string, operation: string) {
    super("run_finished", `cannot ${operation} run ${runId}: it is ${status}.`);
    this.status = status;
  }
}

/** A start with an idempotency key that names a run started with another input, and `ifInputDiffers: "refuse"`. */
export class IdempotencyConflictError extends KernelError {
  readonly existingRunId: string;
  constructor(workflow: string, key: string, existingRunId: string) {
    super(
      "key_conflict",
      `workflow "${workflow}" already has run ${existingRunId} with key "${key}", started with a different input. ` +
        'Use a new key for new work, or start without ifInputDiffers: "refuse" to get the existing run back.',
    );
    this.existingRunId = existingRunId;
  }
}

/** kernel.retry() of a run that has not ended: only a failed run can be resumed. */
export class RunNotFailedError extends KernelError {
  readonly status: string;
  constructor(runId: string, status: string) {
    super(
      "run_not_failed",
      `cannot retry run ${runId}: it is ${status}, not failed. Only a failed run can be retried; wait for it to end, or cancel it.`,
    );
    this.status = status;
  }
}

export class InvalidDurationError extends KernelError {
  constructor(value: unknown) {
    super(
      "invalid_duration",
      `invalid duration ${JSON.stringify(value) ?? String(value)}: use a non-negative number of milliseconds or a string such as "500ms", "30s", "10m", "1h30m", "2d".`,
    );
  }
}

export class InvalidRetryPolicyError extends KernelError {
  constructor(field: string, value: unknown, rule: string) {
    super("invalid_retry_policy", `invalid retry policy: ${field} is ${JSON.stringify(value)}, but ${rule}.`);
  }
}

export class InvalidArgumentError extends KernelError {
  constructor(message: string) {
    super("invalid_argument", message);
  }
}

/** This worker no longer holds the run (its lease expired and another worker took it, or it was cancelled). */
export class LeaseLostError extends KernelError {
  constructor(runId: string, epoch: number) {
    super(
      "lease_lost",
      `lease on run ${runId} (epoch ${epoch}) is no longer held by this worker; its writes were refused. Another worker took the run over or it was cancelled; nothing to do.`,
    );
  }
}

export class StepTimeoutError extends KernelError {
  constructor(runId: string, step: string, ms: number) {
    super(
      "step_timeout",
      `step "${step}" of run ${runId} timed out after ${ms} ms; its signal was aborted. Raise the step's timeout if it needs longer.`,
    );
  }
}

export class RunTimeoutError extends KernelError {
  constructor(runId: string, ms: number) {
    super(
      "run_timeout",
      `run ${runId} exceeded its timeout of ${ms} ms and was stopped. Raise the run's timeout, or retry it with kernel.retry().`,
    );
  }
}

export class CancelledError extends KernelError {
  constructor(runId: string) {
    super("cancelled", `run ${runId} was cancelled.`);
  }
}

/** A step failed for good (fatal error or retries exhausted). Thrown into the workflow, identically on replay. */
export class StepFailedError extends KernelError {
  /** The journal entry that failed: kernel.retry() resumes there. */
  readonly at: { runId: string; seq: number } | undefined;
  readonly step: string;
  readonly attempts: number;
  readonly causeName: string;
  readonly causeMessage: string;
  constructor(runId: string, step: string, attempts: number, causeName: string, causeMessage: string, seq?: number) {
    super(
      "step_failed",
      `step "${step}" of run ${runId} failed after ${attempts} attempt${attempts === 1 ? "" : "s"}: ${causeName}: ${causeMessage.replace(/\.$/, "")}. ` +
        `Fix the cause and resume the run from its last checkpoint with kernel.retry("${runId}").`,
    );
    this.at = seq === undefined ? undefined : { runId, seq };
    this.step = step;
    this.attempts = attempts;
    this.causeName = causeName;
    this.causeMessage = causeMessage;
  }
}

/** A child run invoked with ctx.invoke ended failed or cancelled. */
export class ChildFailedError extends KernelError {
  readonly childRunId: string;
  /** The parent's invoke entry: kernel.retry() of the parent resumes there. */
  readonly at: { runId: string; seq: number } | undefined;
  constructor(
    childRunId: string,
    workflow: string,
    status: string,
    message: string,
    at?: { runId: string; seq: number },
  ) {
    super("child_failed", `child run ${childRunId} of workflow "${workflow}" ended ${status}: ${message}`);
    this.childRunId = childRunId;
    this.at = at;
  }
}

/** Awaiting the result of a run that ended failed or cancelled. */
export class RunFailedError extends KernelError {
  readonly runId: string;
  readonly status: string;
  constructor(runId: string, status: string, message: string) {
    super(
      "run_failed",
      status === "failed"
        ? `run ${runId} failed: ${message}`
        : `run ${runId} was ${status}${message ? `: ${message}` : ""}.`,
    );
    this.runId = runId;
    this.status = status;
  }
}

/** The store refused a run's writes for what they hold; the run fails with this error and no other run is touched. */
export class StoreRefusedError extends KernelError {
  constructor(runId: string, cause: unknown) {
    super(
      "store_refused",
      `the store refused the writes of run ${runId} (${refusalReason(cause)}), so the run failed; other runs were not affected. ` +
        "Make the step's value or error smaller, or storable, and retry the run with kernel.retry().",
    );
  }

  stored(): StoredError {
    return { name: this.name, message: this.message, code: this.code };
  }
}

/** The store's words, where they cannot quote the data (a data error's message may); else its code only. */
function refusalReason(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  const message = String((e as Error | null)?.message ?? e).slice(0, 200);
  if (typeof code === "string" && /^(54|22P05|22021)/.test(code)) return `${message} [${code}]`;
  if (typeof code === "string") return `error ${code}`;
  return /too big/i.test(message) ? message : "a value it cannot store";
}

export class StoreClosedError extends KernelError {
  constructor() {
    super("store_closed", "the kernel's store is closed; create a new kernel to continue.");
  }
}

/** The stored form of an error: enough for a person to read and for the workflow to rethrow on replay. */
export interface StoredError {
  name: string;
  message: string;
  code?: string;
  stack?: string;
  /** On a run's error: the journal entry whose failure ended the run (kernel.retry() resumes there). */
  seq?: number;
  /** On a failed entry's error: the first command the run issued after the failure reached its code, which went on (handled it). */
  handledAt?: number;
}

export function toStoredError(e: unknown): StoredError {
  if (e instanceof Error) {
    const out: StoredError = { name: readable(String(e.name)), message: readable(String(e.message)) };
    if (KernelError.is(e)) out.code = e.code;
    if (e.stack) out.stack = readable(e.stack.split("\n").slice(0, 12).join("\n"));
    return out;
  }
  return { name: "Error", message: readable(typeof e === "string" ? e : (JSON.stringify(e) ?? String(e))) };
}

/**
 * Error text is for people, and Postgres cannot hold a NUL character in text or jsonb: a NUL (as
 * JSON.parse of a binary body quotes it) is kept as its visible symbol ␀ (U+2400) on every store, so
 * an error reads the same live, replayed and on either store. Values keep theirs (they are JSON text).
 */
function readable(text: string): string {
  return text.includes("\u0000") ? text.replaceAll("\u0000", "\u2400") : text;
}

/** The database was written by a newer kernel; opening it would risk it. */
export class SchemaTooNewError extends KernelError {
  constructor(where: string, found: number, known: number) {
    super(
      "schema_too_new",
      `the database ${where} has schema version ${found}, but this agentd knows versions up to ${known}. ` +
        "Upgrade agentd to open it; the database was left unchanged.",
    );
  }
}

/** The store's server cannot be reached or refused us. */
export class StoreUnreachableError extends KernelError {
  constructor(message: string, options?: ErrorOptions) {
    super("store_unreachable", message, options);
  }
}

/** A cron expression, time zone or policy that cannot be used; nothing was stored. */
export class InvalidScheduleError extends KernelError {
  constructor(message: string) {
    super("invalid_schedule", message);
  }
}

export class ScheduleNotFoundError extends KernelError {
  constructor(id: string) {
    super("schedule_not_found", `no schedule with id "${id}"; kernel.schedules.list() lists them.`);
  }
}

export class ScheduleExistsError extends KernelError {
  constructor(id: string) {
    super(
      "schedule_exists",
      `a schedule with id "${id}" already exists; update it with kernel.schedules.update("${id}", ...) or choose another id.`,
    );
  }
}

/** A stream position that is not there: trimmed by retention, or past the end. */
export class StreamOffsetError extends KernelError {
  readonly first: number | null;
  readonly last: number | null;
  constructor(runId: string, from: number, first: number | null, last: number | null) {
    super(
      "stream_offset",
      first === null && last === null
        ? `run ${runId}'s stream has no chunk at position ${from}: it is empty; subscribe from 1.`
        : `run ${runId}'s stream has no chunk at position ${from}: it holds positions ${first ?? "?"} to ${last ?? "?"} (older ones are dropped after the retention); subscribe from a position in that range, or from ${(last ?? 0) + 1} for new chunks only.`,
    );
    this.first = first;
    this.last = last;
  }
}
