/**
 * agentd's public contract, grouped by who uses it. The `agentd` command (src/main.js) is built on
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

// ---- Talking to agentd over HTTP (also `agentd/client`, which loads none of the server) ----
/** The typed client (Hono's `hc` over the API's type): paths, parameters, bodies and answers are type-checked. */
export { type AgentdApi, type AgentdClient, agentdClient, type ApiClientOptions } from "./api/client.ts";

// ---- Errors a caller may meet ----
/** The base of every error agentd throws: a code from the closed list, `AgentdError.is(e, code?)` across package copies. */
export { AGENTD_ERROR_CODES, AgentdError, type AgentdErrorCode } from "./errors.ts";
/** Every error code's HTTP status, agentd's and the kernel's, as the API answers with it. */
export { type ErrorCode, STATUS as ERROR_STATUS } from "./api/errors.ts";
