/**
 * @agentd/kernel: durable execution for TypeScript on SQLite (embedded) or Postgres.
 *
 *     const greet = workflow("greet", async (ctx, name: string) => {
 *       const text = await ctx.step("compose", () => `hello ${name}`);
 *       await ctx.sleep("pause", "10m");
 *       return text;
 *     });
 *     const kernel = new Kernel({ store: await openSqliteStore("data/kernel.db"), workflows: [greet] }).startWorker();
 *     const run = await kernel.start(greet, "ada");
 *     console.log(await run.result());
 */

// ---- Commonly used ----
/** Defines a workflow: a deterministic async function whose side effects go through its context. */
export { workflow } from "./workflow.ts";
export type {
  Workflow,
  WorkflowContext,
  WorkflowOptions,
  StepContext,
  StepOptions,
  ConcurrencyOptions,
} from "./workflow.ts";
/** The kernel: start runs, send events, cancel, retry, inspect; its worker executes runs. */
export { Kernel } from "./kernel.ts";
export type { KernelOptions, StartOptions, RunHandle, RunInfo, JournalEntry, EventTarget } from "./kernel.ts";
/** The embedded store: one SQLite file (node:sqlite, WAL). */
export { openSqliteStore, SqliteStore } from "./store/sqlite/index.ts";
export type { SqliteStoreOptions } from "./store/sqlite/index.ts";
/** Cron schedules (kernel.schedules): types of their definitions and tick records. */
export type { ScheduleInfo } from "./schedule/schedules.ts";
export type {
  ScheduleSpec,
  OverlapPolicy,
  CatchUpPolicy,
  TickRecord,
  TickStatus,
  ScheduleRecord,
  DueSchedule,
  SchedulePlan,
} from "./schedule/types.ts";
/** Streams: chunks a step publishes (`step.publish`), read live with `kernel.subscribe(runId, { from })`. */
export type { Chunk, SubscribeOptions } from "./stream/subscribe.ts";
/** Errors a step throws to steer retries. */
export { FatalError, RetryableError } from "./errors.ts";

// ---- Errors the kernel throws (check with `X.is(e)` or `KernelError.is(e) && e.code === ...`) ----
export {
  KernelError,
  NonDeterminismError,
  NotSerializableError,
  ValueTooLargeError,
  DuplicateWorkflowError,
  UnknownWorkflowError,
  RunNotFoundError,
  RunFinishedError,
  RunNotFailedError,
  IdempotencyConflictError,
  StoreRefusedError,
  InvalidDurationError,
  InvalidRetryPolicyError,
  InvalidArgumentError,
  LeaseLostError,
  StepTimeoutError,
  RunTimeoutError,
  CancelledError,
  StepFailedError,
  ChildFailedError,
  RunFailedError,
  StoreClosedError,
  SchemaTooNewError,
  StoreUnreachableError,
  InvalidScheduleError,
  ScheduleNotFoundError,
  ScheduleExistsError,
  StreamOffsetError,
} from "./errors.ts";
export type { KernelErrorCode, StoredError } from "./errors.ts";

// ---- Advanced ----
/** Time: inject a FakeClock in tests and move it with `advance`. */
export { FakeClock, systemClock } from "./clock.ts";
export type { Clock } from "./clock.ts";
export { toMs } from "./duration.ts";
export type { Duration } from "./duration.ts";
export type { RetryPolicy } from "./retry.ts";
export type { WorkerOptions, DrainReport } from "./worker/types.ts";
/** Retention: how long ended runs are kept (`retention` in the kernel options); `kernel.retention.run()` runs a pass now. */
export type { RetentionOptions, RetentionPolicy } from "./retention/options.ts";
export type { Retention, RetentionReport } from "./retention/retention.ts";
/** Structured logs: pass `logger` in the kernel options (spans and metrics go through @opentelemetry/api). */
export { jsonLogger } from "./telemetry/index.ts";
export type { Logger, LogRecord } from "./telemetry/index.ts";
/** The store port, for implementing another store. */
export type {
  Store,
  StoreStats,
  RunRecord,
  RunStatus,
  EntryRecord,
  EntryKind,
  EntryStatus,
  EventRecord,
  NewRun,
  WriteOp,
  WriteGroup,
  GroupResult,
  ClaimRequest,
  RunFilter,
  PurgeRequest,
  PurgeScope,
  EventInput,
  SendEventResult,
  Served,
  WorkerRecord,
  StreamChunk,
} from "./store/types.ts";
