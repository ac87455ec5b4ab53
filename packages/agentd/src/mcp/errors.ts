import { AgentdError, type AgentdErrorCode } from "../errors.ts";

/** What MCP servers fail with: a server unreachable or refusing, a secret it needs missing, a bound reached. */
export type McpErrorCode = Extract<
  AgentdErrorCode,
  "unavailable" | "not_configured" | "unauthorized" | "limit" | "failed"
>;

export class McpError extends AgentdError<McpErrorCode> {}
