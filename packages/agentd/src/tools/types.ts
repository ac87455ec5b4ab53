import type { z } from "zod";
import type { Attachment } from "../blobs/types.ts";
import type { ConnectionsPort } from "../connections/port.ts";
import type { ToolGroup } from "./groups.ts";
import type { NetPolicy } from "../net/policy.ts";
import type { TenantScope } from "../tenancy/scope.ts";
import type { SecretReader } from "../vault/reader.ts";

// The ports a tool uses, defined beside what they reach, and named here too for tools' authors.
export type { ConnectionsPort, NetPolicy, SecretReader };

/** How risky a tool is; it sets the default policy and what an approval prompt stresses. */
export type Risk = "low" | "medium" | "high";
/** What the policy says about one call. */
export type Decision = "allow" | "ask" | "deny";

/** Background jobs the agent can create for its tenant (kernel timers and schedules underneath). */
export interface JobsApi {
  remind(
    scope: TenantScope,
    /** key: the same key makes no second job (a tool call's `<run>:<call>`, its step run again after a crash). */
    job: { prompt: string; at: number; sessionId: string | null; key?: string },
  ): Promise<{ id: string; at: number }>;
  recur(
    scope: TenantScope,
    job: { prompt: string; cron: string; timezone: string; sessionId: string | null; key?: string },
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
  /** The tenant's OAuth connections (absent where agentd runs without them): tokens go into requests, never back. */
  connections?: ConnectionsPort;
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
  /** Publishes progress (a command's output as it arrives) to the run's stream; not journaled, never shown to the model. */
  progress?(data: unknown): void;
  /**
   * Replaces what the person sees live while the tool runs (their channel's live view, a Telegram
   * draft; nothing on channels without one), e.g. a command's latest output. Replaced by the reply;
   * not journaled, never shown to the model. Redact before showing.
   */
  show?(text: string): void;
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
  /**
   * Offered once the model loads this group (groups.ts), not with every call: tools whose schemas are
   * large or whose work is occasional. Without it, the tool is always offered.
   */
  group?: ToolGroup;
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
  /** False when an allow rule must not cover this call (a shell command chaining others): it is asked instead. */
  allowable?(args: A): boolean;
  /**
   * For tools whose calls act outside and must not be repeated blindly: when the worker died during
   * a call (its outcome unknown), the retry runs it again only if this answers true; otherwise a
   * person is asked first. Tools without it are run again.
   */
  rerun?(args: A, tenant: TenantScope): Promise<boolean>;
  /**
   * A tool that hands the work to a person first (a login with 2FA, a captcha): before it runs, the
   * person gets a link to take over and what this returns (a screenshot), and the run waits durably
   * until they press Done there (agent/tool-call/handoff.ts). Runs inside a step.
   */
  handoff?(args: A, tenantId: string): Promise<{ files: Attachment[] }>;
  /**
   * The OAuth connection a call uses, by name: before the tool runs, the chain makes sure it is
   * authorized (a person is sent a connect link and the run waits, when it is not).
   */
  connection?(args: A): string | undefined;
  run(args: A, ctx: ToolContext): Promise<unknown>;
}

/**
 * A tool as a turn offers it: a built-in as is, or a tool from outside whose arguments the model is
 * shown as the JSON Schema its server published (`input` then checks a safe reading of it).
 */
export interface OfferedTool extends Tool {
  jsonSchema?: Record<string, unknown>;
}
