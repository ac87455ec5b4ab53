import type { z } from "zod";
import type { NetPolicy } from "../net/policy.ts";
import type { TenantScope } from "../tenancy/scope.ts";
import type { SecretReader } from "../vault/reader.ts";

// The ports a tool uses, defined beside what they reach, and named here too for tools' authors.
export type { NetPolicy, SecretReader };

/** How risky a tool is; it sets the default policy and what an approval prompt stresses. */
export type Risk = "low" | "medium" | "high";
/** What the policy says about one call. */
export type Decision = "allow" | "ask" | "deny";

/** Background jobs the agent can create for its tenant (kernel timers and schedules underneath). */
export interface JobsApi {
  remind(
    scope: TenantScope,
    job: { prompt: string; at: number; sessionId: string | null },
  ): Promise<{ id: string; at: number }>;
  recur(
    scope: TenantScope,
    job: { prompt: string; cron: string; timezone: string; sessionId: string | null },
  ): Promise<{ id: string; next: number[] }>;
  list(
    scope: TenantScope,
  ): Promise<
    { id: string; kind: string; prompt: string; at: number | null; cron: string | null; timezone: string | null }[]
  >;
  cancel(scope: TenantScope, id: string): Promise<boolean>;
}

/** Turns text into vectors when an embedding model is configured. */
export interface Embedder {
  embed(texts: string[]): Promise<number[][]>;
}

export interface ToolServices {
  jobs: JobsApi;
  embedder: Embedder | null;
  net: NetPolicy;
}

/** What a tool receives when it runs: its tenant's data, the vault at call time, and the services above. */
export interface ToolContext {
  tenant: TenantScope;
  sessionId: string | null;
  runId: string;
  /** The model's id for this call: an idempotency key for side effects outside. */
  callId: string;
  now: number;
  /** The tenant's time zone (IANA). */
  timezone: string;
  signal: AbortSignal;
  secrets: SecretReader;
  /** Replaces every value of the tenant's vault: a tool that cuts its output redacts first, so a secret straddling the cut cannot leave its head. */
  redact(text: string): string;
  services: ToolServices;
}

export interface Tool<A = unknown> {
  /** Letters, digits and underscores (what model APIs accept). */
  name: string;
  /** One short sentence: every word is sent with every model call. */
  description: string;
  input: z.ZodType<A>;
  risk: Risk;
  /** The decision when the tenant has no policy for this tool. */
  defaultDecision: Decision;
  /** Default 30 s. */
  timeoutMs?: number;
  /** Longer output is cut, with a note saying so (default 8,000 characters). */
  maxOutputChars?: number;
  /** Output that comes from outside (web pages, API bodies) is marked untrusted in the model's context. */
  untrusted?: boolean;
  /** The text policy patterns match and an approval prompt shows (a URL, a command); default: the arguments as JSON. */
  subject?(args: A): string;
  /**
   * What an "Always" answer allows from then on: what the approval showed, never more (for a request,
   * its host and the secret it sends). `pattern` is the policy pattern over subjects, `shown` how the
   * person reads it ("every … to …"). Without it, "Always" allows every call of the tool.
   */
  always?(args: A): { pattern: string; shown: string };
  run(args: A, ctx: ToolContext): Promise<unknown>;
}

/**
 * A tool as a turn offers it: a built-in as is, or a tool from outside whose arguments the model is
 * shown as the JSON Schema its server published (`input` then checks a safe reading of it).
 */
export interface OfferedTool extends Tool {
  jsonSchema?: Record<string, unknown>;
}
