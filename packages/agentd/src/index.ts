/**
 * agentd's public contract, grouped by who uses it. The `agentd` command (src/main.ts) is built on
 * these; anything not exported here is internal and may change.
 */

// ---- Running agentd in your own program ----
export { Agentd, type AgentdOptions, createAgentd } from "./app.ts";
export { type Config, ConfigError, loadConfig } from "./config.ts";

// ---- Writing tools ----
export { defineTool, type ToolSpec } from "./tools/define.ts";
export type { Decision, Risk, Tool, ToolContext, ToolServices } from "./tools/types.ts";
/** What a tool reads the tenant's vault through, and the network rule every outgoing request obeys. */
export type { SecretReader } from "./vault/reader.ts";
export type { NetPolicy } from "./net/policy.ts";

// ---- Plugging in tenants' own tools (MCP servers, connected apps) ----
export type { SourceTool, SourcedTool, ToolSource } from "./tools/sources/port.ts";
/** How their tools are named for the model (`mcp__server__tool`, at most 64 characters) and mapped back. */
export { nameTools, sourcedToolName, type ToolRef } from "./tools/sources/names.ts";

// ---- Errors a caller may meet ----
export { AGENTD_ERROR_CODES, AgentdError, type AgentdErrorCode } from "./errors.ts";
