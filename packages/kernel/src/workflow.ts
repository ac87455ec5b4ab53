import { type Duration, toMs } from "./duration.ts";
import { DuplicateWorkflowError, InvalidArgumentError, UnknownWorkflowError } from "./errors.ts";
import { DEFAULT_RETRY, type ResolvedRetryPolicy, type RetryPolicy, resolveRetry } from "./retry.ts";
import { checkText } from "./commands/names.ts";

/** What a step body receives. */
export interface StepContext {
  /** Aborted when the attempt times out, the run is cancelled or this worker loses the run. */
  readonly signal: AbortSignal;
  /** `runId:seq`, the same on every attempt and replay: pass it to external APIs as their idempotency key. */
  readonly idempotencyKey: string;
  /** 1 for the first attempt. */
  readonly attempt: number;
  readonly runId: string;
  /**
   * Publishes a chunk (an LLM token, progress) to the run's stream; subscribers receive it live
   * (`kernel.subscribe`). Chunks are JSON, kept for a bounded number per run. A retried step publishes again.
   */
  publish(data: unknown): void;
}

export interface StepOptions {
  /** Overrides the workflow's retry policy for this step. */
  retry?: RetryPolicy;
  /** Each attempt is aborted and counted failed after this long. */
  timeout?: Duration;
  /** The step handles secrets: its error messages are redacted in the journal, logs and spans (values are never logged). */
  secret?: boolean;
  /**
   * `false`: the body runs at once, without first making its attempt durable (one commit less before
   * it). Only for a body that only reads: its result is still journaled once and replayed, but a crash
   * during it spends no attempt, it may run before what the run wrote before it is durable, and in a
   * run started on this worker before the run's insert is committed (for nothing if its key names
   * another run); a run with a concurrency lane waits for the commit that admits it. Default `true`.
   */
  startMarker?: boolean;
}

/**
 * The durable API a workflow uses. Everything non-deterministic goes through it and is journaled.
 * Await only these promises (and combinations of them such as Promise.all) in workflow code.
 */
export interface WorkflowContext {
  readonly runId: string;
  readonly workflow: string;
  /** Runs `fn` at most once per success; its JSON result is checkpointed and replayed. */
  step<T>(name: string, fn: (step: StepContext) => Promise<T> | T, options?: StepOptions): Promise<T>;
  /** A durable timer: the run holds no memory and no lease while it sleeps. */
  sleep(name: string, duration: Duration): Promise<void>;
  sleepUntil(name: string, at: Date | number): Promise<void>;
  /** Waits for an event sent to this run; null when the timeout passes first. Events sent earlier are buffered. */
  waitForEvent<T = unknown>(name: string, options?: { timeout?: Duration }): Promise<T | null>;
  /** Starts a child run and waits for its result; a failed child throws ChildFailedError. */
  invoke<I, O>(workflow: Workflow<I, O>, input: I, options?: { timeout?: Duration }): Promise<O>;
  /** Current time in ms, recorded so that replay sees the same value. */
  now(): Promise<number>;
  uuid(): Promise<string>;
  /** A float in [0, 1), recorded. */
  random(): Promise<number>;
  /**
   * Ends this execution and starts the run again from the top with `input` and an empty journal
   * (same run id; buffered events stay). Keeps an endless workflow's history bounded: `return ctx.continueAsNew(next)`.
   */
  continueAsNew(input: unknown): Promise<never>;
}

/** Runs whose key is equal run `limit` at a time (default 1), in the order they were started; the others queue. */
export interface ConcurrencyOptions<I> {
  /** The lane a run belongs to, from its input (e.g. a chat session id). Scoped to the run's namespace. */
  key: (input: I) => string;
  limit?: number;
}

export interface WorkflowOptions<I = unknown> {
  /** Default retry policy of this workflow's steps. */
  retry?: RetryPolicy;
  /** Default timeout of each step attempt. */
  stepTimeout?: Duration;
  /** Default timeout of a whole run, from its start. */
  timeout?: Duration;
  /** Limits how many runs with the same key run at once; the rest wait their turn (FIFO). */
  concurrency?: ConcurrencyOptions<I>;
  /**
   * The version of this code (default "1"). A run is pinned to the version that started it and is only
   * ever executed by a worker that has that version; bump it when a change would break runs in flight.
   */
  version?: string;
}

export interface Workflow<I = unknown, O = unknown> {
  readonly name: string;
  readonly fn: (ctx: WorkflowContext, input: I) => Promise<O>;
  readonly retry: ResolvedRetryPolicy;
  readonly stepTimeoutMs: number | null;
  readonly timeoutMs: number | null;
  readonly concurrency: { key: (input: I) => string; limit: number } | null;
  readonly version: string;
}

const NAME = /^[A-Za-z0-9_.:/-]{1,200}$/;

/** Defines a workflow. Register it with a kernel (`new Kernel({ workflows: [...] })`) to run it. */
export function workflow<I = unknown, O = unknown>(
  name: string,
  fn: (ctx: WorkflowContext, input: I) => Promise<O>,
  options: WorkflowOptions<I> = {},
): Workflow<I, O> {
  if (typeof name !== "string" || !NAME.test(name))
    throw new InvalidArgumentError(
      `workflow name ${JSON.stringify(name)} is invalid: use 1 to 200 letters, digits or _ . : / -.`,
    );
  if (typeof fn !== "function")
    throw new InvalidArgumentError(`workflow "${name}" needs a function, got ${typeof fn}.`);
  return Object.freeze({
    name,
    fn,
    retry: resolveRetry(options.retry, DEFAULT_RETRY),
    stepTimeoutMs: options.stepTimeout === undefined ? null : toMs(options.stepTimeout),
    timeoutMs: options.timeout === undefined ? null : toMs(options.timeout),
    concurrency: options.concurrency === undefined ? null : concurrency(name, options.concurrency),
    version: versionOf(name, options.version),
  });
}

function versionOf(name: string, v: unknown): string {
  if (v === undefined) return "1";
  if (typeof v !== "string" || !/^[A-Za-z0-9_.:+-]{1,100}$/.test(v))
    throw new InvalidArgumentError(
      `workflow "${name}": version ${JSON.stringify(v)} is invalid; use 1 to 100 letters, digits or _ . : + -.`,
    );
  return v;
}

function concurrency<I>(name: string, c: ConcurrencyOptions<I>): { key: (input: I) => string; limit: number } {
  if (typeof c?.key !== "function")
    throw new InvalidArgumentError(
      `workflow "${name}": concurrency.key must be a function of the input that returns a string.`,
    );
  const limit = c.limit ?? 1;
  if (!Number.isInteger(limit) || limit < 1)
    throw new InvalidArgumentError(
      `workflow "${name}": concurrency.limit must be an integer of at least 1, got ${JSON.stringify(c.limit)}.`,
    );
  return { key: c.key, limit };
}

/** The stored concurrency lane of a run of `wf` with `input` in `namespace`, or null if the workflow has none. */
export function concurrencyOf<I>(
  wf: Workflow<I, unknown>,
  input: I,
  namespace: string,
): { concurrencyKey: string; concurrencyLimit: number } | null {
  if (!wf.concurrency) return null;
  const key = wf.concurrency.key(input);
  if (typeof key !== "string" || key.length === 0 || key.length > 500)
    throw new InvalidArgumentError(
      `workflow "${wf.name}": its concurrency key function returned ${JSON.stringify(key)}; it must return a string of 1 to 500 characters.`,
    );
  checkText(`workflow "${wf.name}": the concurrency key`, key);
  return { concurrencyKey: `${namespace}:${key}`, concurrencyLimit: wf.concurrency.limit };
}

/** The workflows one kernel can execute, by name. */
export class Registry {
  readonly #byName = new Map<string, Workflow<never, unknown>>();

  constructor(workflows: readonly Workflow<never, unknown>[] = []) {
    for (const w of workflows) this.add(w);
  }
  add(w: Workflow<never, unknown>): void {
    if (this.#byName.has(w.name)) throw new DuplicateWorkflowError(w.name);
    this.#byName.set(w.name, w);
  }
  get(name: string): Workflow<never, unknown> | undefined {
    return this.#byName.get(name);
  }
  require(name: string): Workflow<never, unknown> {
    const w = this.#byName.get(name);
    if (!w) throw new UnknownWorkflowError(name, this.names());
    return w;
  }
  names(): string[] {
    return [...this.#byName.keys()];
  }
  /** name → version of every registered workflow: what a worker of this registry executes. */
  served(): Record<string, string> {
    return Object.fromEntries([...this.#byName.values()].map((w) => [w.name, w.version]));
  }
}
