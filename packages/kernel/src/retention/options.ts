import { type Duration, toMs } from "../duration.ts";
import { InvalidArgumentError } from "../errors.ts";
import type { PurgeScope } from "../store/types.ts";

/** How long ended runs are kept, counted from when they ended; "forever" keeps them. */
export interface RetentionPolicy {
  /** Default "7d". */
  completed?: Duration | "forever";
  /** Default "7d". */
  cancelled?: Duration | "forever";
  /** Failed runs are the dead-letter list (`kernel.failedRuns()`, `kernel.retry()`): kept longer, default "30d". */
  failed?: Duration | "forever";
}

/**
 * Retention: a worker deletes runs that ended longer ago than their policy says, with their journal,
 * events, stream chunks and schedule tick records. A workflow's policy wins over its namespace's, which
 * wins over the defaults, field by field.
 */
export interface RetentionOptions extends RetentionPolicy {
  /** Policies by workflow name. */
  workflows?: Record<string, RetentionPolicy>;
  /** Policies by namespace (tenant). */
  namespaces?: Record<string, RetentionPolicy>;
  /** How often a worker looks for runs to delete, on the kernel's clock (default "10m"). */
  every?: Duration;
  /** Runs deleted per transaction (default 200): small, so claims and commits never wait long for one. */
  batchSize?: number;
}

export const ENDED = ["completed", "cancelled", "failed"] as const;
export type Ended = (typeof ENDED)[number];
/** Ages in ms by status; null keeps forever. */
export type Ages = Record<Ended, number | null>;

const DEFAULTS: Ages = { completed: 7 * 86_400_000, cancelled: 7 * 86_400_000, failed: 30 * 86_400_000 };

/** One slice of the runs (disjoint from every other rule's) and how long its ended runs are kept. */
export interface RetentionRule {
  scope: PurgeScope;
  ages: Ages;
}

export interface RetentionPlan {
  rules: RetentionRule[];
  everyMs: number;
  batchSize: number;
}

/** Validates the options and splits the runs into disjoint slices, each with its ages. */
export function planRetention(opts: RetentionOptions = {}): RetentionPlan {
  if (typeof opts !== "object" || opts === null)
    throw new InvalidArgumentError(`retention must be an object or false, got ${JSON.stringify(opts)}.`);
  const base = ages(DEFAULTS, opts, "retention");
  const byWf = entries(opts.workflows, "retention.workflows");
  const byNs = entries(opts.namespaces, "retention.namespaces");
  const wfs = byWf.map(([w]) => w);
  const nss = byNs.map(([n]) => n);
  const rules: RetentionRule[] = [];
  for (const [w, wp] of [...byWf, [null, {}] as const]) {
    for (const [n, np] of [...byNs, [null, {}] as const]) {
      const withNs = n === null ? base : ages(base, np, `retention.namespaces.${n}`);
      rules.push({
        scope: {
          workflow: w,
          namespace: n,
          exceptWorkflows: w === null ? wfs : [],
          exceptNamespaces: n === null ? nss : [],
        },
        ages: w === null ? withNs : ages(withNs, wp, `retention.workflows.${w}`),
      });
    }
  }
  const everyMs = opts.every === undefined ? 600_000 : toMs(opts.every);
  if (everyMs < 1_000)
    throw new InvalidArgumentError(`retention.every must be at least 1s, got ${JSON.stringify(opts.every)}.`);
  const batchSize = opts.batchSize ?? 200;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000)
    throw new InvalidArgumentError(
      `retention.batchSize must be an integer from 1 to 10000, got ${JSON.stringify(opts.batchSize)}.`,
    );
  return { rules, everyMs, batchSize };
}

function entries(m: Record<string, RetentionPolicy> | undefined, where: string): [string, RetentionPolicy][] {
  if (m === undefined) return [];
  if (typeof m !== "object" || m === null || Array.isArray(m))
    throw new InvalidArgumentError(`${where} must map names to policies, got ${JSON.stringify(m)}.`);
  return Object.entries(m);
}

function ages(under: Ages, p: RetentionPolicy, where: string): Ages {
  if (typeof p !== "object" || p === null)
    throw new InvalidArgumentError(`${where} must be a policy object, got ${JSON.stringify(p)}.`);
  const out = { ...under };
  for (const s of ENDED) {
    const v = p[s];
    if (v === undefined) continue;
    out[s] = v === "forever" ? null : toMs(v);
  }
  return out;
}
