/**
 * agentd's public contract, grouped by who uses it. The `agentd` command (src/main.ts) is built on
 * these; anything not exported here is internal and may change.
 */

// ---- Running agentd in your own program ----
export { Agentd, type AgentdOptions, createAgentd } from "./app.ts";
export { type Config, ConfigError, loadConfig } from "./config.ts";

// ---- Writing tools ----
export { defineTool, type ToolSpec } from "./tools/define.ts";
export type { Decision, Risk, SecretReader, Tool, ToolContext, ToolServices } from "./tools/types.ts";

// ---- Errors a caller may meet ----
export { OsError } from "./tenancy/errors.ts";
