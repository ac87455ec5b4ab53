import { z } from "zod";
import { TOOL_GROUP_IDS } from "../tools/groups.ts";

/** A tenant's settings: quotas, background life and where background results go. */
export const TenantSettings = z.object({
  /** Tokens (prompt + completion) the tenant's turns may spend per UTC day; 0 = unlimited. */
  dailyTokenBudget: z.number().int().min(0).default(0),
  /** Messages a tenant may send per minute through the API (429 beyond). */
  runsPerMinute: z.number().int().min(1).max(100_000).default(60),
  /** Turns started through the API that may be in progress (pending or running) at once (429 beyond). */
  concurrentRuns: z.number().int().min(1).max(10_000).default(20),
  /** Model calls per turn before it stops with a note to the user. */
  maxIterations: z.number().int().min(1).max(50).default(8),
  /** Tokens one turn may spend; 0 = unlimited. */
  maxTurnTokens: z.number().int().min(0).default(0),
  /** Cron expression of the heartbeat (checks for due items; no model call when nothing is due), or null. */
  heartbeat: z.string().min(1).max(120).nullable().default(null),
  timezone: z.string().min(1).max(64).default("UTC"),
  /** When on, background turns may act with tools within policy; when off they only remind and report. */
  autopilot: z.boolean().default(false),
  /** Where background results go when a job names no session: the tenant's last active session otherwise. */
  homeSession: z.string().nullable().default(null),
  /** web_search through the tenant's own provider, with its key (BRAVE_SEARCH_API_KEY, TAVILY_API_KEY) or instance (SEARXNG_URL) in its vault; null: the deployment's. */
  searchProvider: z.enum(["searxng", "brave", "tavily"]).nullable().default(null),
  /**
   * Replies spoken as voice notes too (the text is always sent and kept): "voice" when the person wrote
   * by voice, "always", or "off"; needs the deployment's speech model (AGENTD_SPEECH_*).
   */
  voiceReplies: z.enum(["off", "voice", "always"]).default("off"),
  /** Built-in tools this tenant may use (null = all registered). */
  tools: z.array(z.string()).nullable().default(null),
  /**
   * Tools this tenant may not use, whatever `tools` says: built-ins by name, its own (from MCP servers,
   * connected apps) by their model-facing name or a pattern with `*` ("mcp__github__*").
   */
  deniedTools: z.array(z.string().min(1).max(100)).max(100).default([]),
  /**
   * Tool groups offered from a turn's first model call (browser, ssh, code, apps) rather than when the
   * model loads them: a tenant that uses them in most turns saves the extra call; each costs prompt bytes.
   */
  toolGroups: z
    .array(z.enum(TOOL_GROUP_IDS as [string, ...string[]]))
    .max(TOOL_GROUP_IDS.length)
    .default([]),
});
export type TenantSettings = z.infer<typeof TenantSettings>;
