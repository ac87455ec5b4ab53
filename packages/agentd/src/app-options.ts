import type { Clock, Logger, WorkerOptions } from "@agentd/kernel";
import type { LanguageModel } from "ai";
import type { Config } from "./config.ts";
import type { McpAuthHook } from "./mcp/connect.ts";
import type { Spawner } from "./mcp/transport/spawn.ts";
import type { ToolSource } from "./tools/sources/port.ts";
import type { Tool } from "./tools/types.ts";

/** What `createAgentd` takes (app.ts): the configuration over the environment's, and what a program brings. */
export interface AgentdOptions {
  config?: Partial<Config>;
  env?: NodeJS.ProcessEnv;
  /** Any AI SDK language model (Anthropic, Google, Bedrock, …); overrides the OpenAI-compatible settings. */
  model?: LanguageModel;
  /** More tools to offer (they go through the same schema, policy and approval path). */
  tools?: Tool[];
  /** Sources of tenants' own tools (MCP servers, connected apps): listed per tenant at each turn's start. */
  toolSources?: ToolSource[];
  /**
   * MCP servers: how stdio servers are started (default: in the machine's sandbox, refused when it is
   * off; `hostSpawner` runs them as child processes) and the OAuth hook of HTTP servers (connect.ts).
   */
  mcp?: { spawner?: Spawner; auth?: McpAuthHook };
  /** Worker settings; false for a process that serves the API and starts runs but executes none. */
  worker?: WorkerOptions | false;
  /** False for a process that serves no API (`agentd worker`): its channels mount no webhooks and point no provider at it. */
  api?: boolean;
  clock?: Clock;
  logger?: Logger;
  /** Where the channels' lines go (a link down, a webhook set, a message failed): stderr as `agentd: …` by default. */
  channelLog?: (line: string) => void;
}

/**
 * Runs a worker holds at once (the kernel's default is 500): room for a thousand tenants' heartbeats due
 * on one second to all begin on the worker that fires them. Beyond its room a fired run waits for a claim
 * behind the others, and one still running at its next tick has that tick skipped (heartbeats skip overlaps).
 */
export const WORKER_CONCURRENCY = 2_000;
