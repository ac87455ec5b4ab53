import type { WorkflowContext } from "@agentd/kernel";
import type { Attachment } from "../../blobs/types.ts";
import type { TenantScope } from "../../tenancy/scope.ts";
import type { OfferedTool } from "../../tools/types.ts";
import type { ModelCall } from "../call-model.ts";
import type { TurnContext } from "../context.ts";
import type { AgentDeps } from "../deps.ts";
import type { TurnInput } from "../turn-input.ts";

/** One call on its way through the chain; `validate` fills in its arguments and subject. */
export interface CallInFlight {
  readonly tool: OfferedTool;
  /** As the model sent it. */
  readonly call: ModelCall;
  /** `<model step>:<call id>`: names the call's steps (`policy:…`, `ask:…`, `settle:…`, `tool:…`) in the journal. */
  readonly key: string;
  /** The arguments as the tool's schema output them. */
  args: unknown;
  /** What policy patterns match and an approval shows (a URL, a command). */
  subject: string;
  /** Set by `policy`: a person decides before the tool runs. */
  asks: boolean;
}

/** What every stage may use: the turn's workflow context (its steps), the agent's ports, the turn. */
export interface CallEnv {
  ctx: WorkflowContext;
  deps: AgentDeps;
  input: TurnInput;
  tc: TurnContext;
  scope: TenantScope;
  /** The person's live view of the turn (a Telegram draft), for what a running tool shows them. */
  show?: (text: string) => void;
}

/**
 * A stage before the tool runs. It answers the model instead (a string: the call ends there), or
 * passes the call on (null). Stages run in the workflow's body: whatever they do outside (read a
 * policy, ask a person) goes in steps of their own, named with the call's key, so a replay takes
 * the same path.
 */
export interface CallStage {
  readonly name: string;
  /** Only calls of tools it says yes to pass through it (every call when absent). */
  appliesTo?(tool: OfferedTool): boolean;
  run(call: CallInFlight, env: CallEnv): Promise<string | null>;
}

/** What a call answers the model: text, and the files the tool returned (blob references, `tools/files.ts`). */
export interface ToolAnswer {
  output: string;
  /** Shown to the model (an image, to a model that takes images). */
  show?: Attachment[];
  /** Sent to the person with the turn's reply. */
  send?: Attachment[];
}
