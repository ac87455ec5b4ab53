/**
 * `agentd/serverless`: agentd as one Web-standard function (Next.js route handlers, Vercel, any
 * platform that calls `(Request) => Promise<Response>`). This module loads nothing of agentd until
 * the first request.
 */
export {
  type AgentdHandler,
  type AgentdHandlerOptions,
  createAgentdHandler,
  type Invocation,
  SQLITE_REFUSED,
  type TickReport,
} from "./handler.ts";
