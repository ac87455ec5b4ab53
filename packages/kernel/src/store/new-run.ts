/** A run to insert, as kernel.start(), a child's invoke or a schedule's tick makes it (its own file: the schedule planner needs it without the Store port). */
export interface NewRun {
  id: string;
  namespace: string;
  workflow: string;
  key: string | null;
  input: string | null;
  parentId: string | null;
  parentSeq: number | null;
  timeoutMs: number | null;
  /** The version of the workflow that started it; null to pin it to the first worker that claims it. */
  version?: string | null;
  /** W3C traceparent of the span that started it: its executions' spans join that trace. */
  traceParent?: string | null;
  /** Set when the run is inserted already claimed by the starting worker (its first epoch is 1). */
  claimedBy: { owner: string; leaseExpiresAt: number } | null;
  /** Runs with one key run at most `concurrencyLimit` at a time, in the order they were started. */
  concurrencyKey?: string | null;
  concurrencyLimit?: number | null;
}
