import { z } from "zod";
import { TenantSettings } from "../tenancy/settings.ts";
import { Decide, ListApprovals } from "./routes/approvals.ts";
import { ListBlobs } from "./routes/blobs.ts";
import { AddTelegramBot } from "./routes/bots.ts";
import { AddMemory, ListMemory } from "./routes/memory.ts";
import { History, ListSessions, PostMessage, Stream } from "./routes/messages.ts";
import { Pattern, PutPolicy } from "./routes/policies.ts";
import { From, ListRuns } from "./routes/runs.ts";
import { CreateSchedule } from "./routes/schedules.ts";
import { PutSecret } from "./routes/secrets.ts";
import { CreateTenant, Identity, ListTenants, PairingCode, PatchTenant } from "./routes/tenants.ts";
import { Days } from "./routes/usage.ts";

// Every operation the API serves, with the zod schemas its routes validate with: the table the
// OpenAPI document (openapi.ts) is generated from, and that a test compares with the served routes.
export type Who = "public" | "admin" | "tenant";

export interface Operation {
  method: "get" | "post" | "put" | "patch" | "delete";
  /** Hono's form (`/v1/runs/:id`); written `{id}` in the document. */
  path: string;
  who: Who;
  summary: string;
  body?: z.ZodType;
  query?: z.ZodType;
  /** The success status and what it returns (a schema where the shape matters to clients). */
  ok: { status: number; description: string; schema?: z.ZodType; sse?: boolean };
}

export const ErrorBody = z.object({
  error: z.object({ code: z.string(), message: z.string().describe("what is wrong and what to do, for a person") }),
});
const Tenant = z.object({
  id: z.string(),
  name: z.string(),
  settings: TenantSettings,
  createdAt: z.number().describe("epoch ms"),
});
const TenantCreated = z.object({
  tenant: Tenant,
  apiKey: z
    .string()
    .describe("the tenant's first API key: shown once (only its hash is kept); send it as Authorization: Bearer <key>"),
  keyId: z.string(),
});
const ApiKey = z.object({ id: z.string(), key: z.string().describe("shown once: only its hash is kept") });
const Accepted = z.object({
  sessionId: z.string(),
  messageId: z.string(),
  runId: z.string(),
  duplicate: z.boolean().describe("true when a message with the same id was already received"),
});
const Health = z
  .object({
    ok: z.boolean(),
    status: z.enum(["up", "degraded", "down"]),
  })
  .describe(
    "without a token; with the admin token also store, model, workers, runsDue, components, reasons and version",
  );

export const OPERATIONS: Operation[] = [
  {
    method: "get",
    path: "/health",
    who: "public",
    summary: "Up, degraded or down (details with the admin token)",
    ok: { status: 200, description: "agentd answers (503 when down)", schema: Health },
  },
  {
    method: "get",
    path: "/metrics",
    who: "admin",
    summary: "Prometheus metrics: runs, workers, tokens, approvals",
    ok: { status: 200, description: "text/plain; version=0.0.4" },
  },
  {
    method: "get",
    path: "/v1/openapi.json",
    who: "public",
    summary: "This document",
    ok: { status: 200, description: "OpenAPI 3.1" },
  },
  // The operator's
  {
    method: "post",
    path: "/v1/tenants",
    who: "admin",
    summary: "Create a tenant; the answer carries its first API key",
    body: CreateTenant.extend({ settings: TenantSettings.partial().optional() }),
    ok: { status: 201, description: "the tenant and its API key", schema: TenantCreated },
  },
  {
    method: "get",
    path: "/v1/tenants",
    who: "admin",
    summary: "List tenants",
    query: ListTenants,
    ok: { status: 200, description: "{ tenants }" },
  },
  {
    method: "get",
    path: "/v1/tenants/:id",
    who: "admin",
    summary: "One tenant",
    ok: { status: 200, description: "the tenant", schema: Tenant },
  },
  {
    method: "patch",
    path: "/v1/tenants/:id",
    who: "admin",
    summary: "Rename a tenant or change its settings (merged)",
    body: PatchTenant.extend({ settings: TenantSettings.partial().optional() }),
    ok: { status: 200, description: "the tenant", schema: Tenant },
  },
  {
    method: "delete",
    path: "/v1/tenants/:id",
    who: "admin",
    summary: "Delete a tenant and its data",
    ok: { status: 204, description: "deleted" },
  },
  {
    method: "post",
    path: "/v1/tenants/:id/keys",
    who: "admin",
    summary: "A new API key for the tenant",
    ok: { status: 201, description: "the key, shown once", schema: ApiKey },
  },
  {
    method: "delete",
    path: "/v1/tenants/:id/keys/:keyId",
    who: "admin",
    summary: "Revoke an API key",
    ok: { status: 204, description: "revoked" },
  },
  {
    method: "post",
    path: "/v1/tenants/:id/pairing-codes",
    who: "admin",
    summary: "A one-time pairing code: a person sends /start CODE from a channel",
    body: PairingCode,
    ok: { status: 201, description: "{ code, expiresAt }" },
  },
  {
    method: "get",
    path: "/v1/tenants/:id/identities",
    who: "admin",
    summary: "Channel identities bound to the tenant",
    ok: { status: 200, description: "{ identities }" },
  },
  {
    method: "post",
    path: "/v1/tenants/:id/identities",
    who: "admin",
    summary: "Bind a channel identity to the tenant",
    body: Identity,
    ok: { status: 201, description: "the binding" },
  },
  {
    method: "delete",
    path: "/v1/tenants/:id/identities/:channel/:externalId",
    who: "admin",
    summary: "Unbind a channel identity",
    ok: { status: 204, description: "unbound" },
  },
  // A tenant's
  {
    method: "post",
    path: "/v1/messages",
    who: "tenant",
    summary: "A person's message: starts a turn (Accept: text/event-stream streams the reply)",
    body: PostMessage,
    query: Stream,
    ok: {
      status: 202,
      description:
        "accepted (or, streamed, event: accepted then the run's events: text, tool, approval, waiting, done)",
      schema: Accepted,
      sse: true,
    },
  },
  {
    method: "get",
    path: "/v1/sessions",
    who: "tenant",
    summary: "Conversations",
    query: ListSessions,
    ok: { status: 200, description: "{ sessions }" },
  },
  {
    method: "get",
    path: "/v1/sessions/:id",
    who: "tenant",
    summary: "One conversation",
    ok: { status: 200, description: "the session" },
  },
  {
    method: "get",
    path: "/v1/sessions/:id/messages",
    who: "tenant",
    summary: "A conversation's messages, oldest first",
    query: History,
    ok: { status: 200, description: "{ messages, next }" },
  },
  {
    method: "get",
    path: "/v1/runs",
    who: "tenant",
    summary: "Runs (turns, reminders, schedules), newest first",
    query: ListRuns,
    ok: { status: 200, description: "{ runs }" },
  },
  {
    method: "get",
    path: "/v1/runs/:id",
    who: "tenant",
    summary: "One run",
    ok: { status: 200, description: "the run" },
  },
  {
    method: "get",
    path: "/v1/runs/:id/journal",
    who: "tenant",
    summary: "A run's journal, secrets redacted",
    ok: { status: 200, description: "{ runId, journal }" },
  },
  {
    method: "post",
    path: "/v1/runs/:id/retry",
    who: "tenant",
    summary: "Resume a failed run from its last checkpoint",
    ok: { status: 202, description: "the run" },
  },
  {
    method: "post",
    path: "/v1/runs/:id/cancel",
    who: "tenant",
    summary: "Cancel a run and its children",
    ok: { status: 200, description: "{ cancelled }" },
  },
  {
    method: "get",
    path: "/v1/runs/:id/stream",
    who: "tenant",
    summary: "A run's stream (SSE; Last-Event-ID or ?from= resumes)",
    query: From,
    ok: { status: 200, description: "text/event-stream", sse: true },
  },
  {
    method: "get",
    path: "/v1/schedules",
    who: "tenant",
    summary: "Reminders and recurring jobs, with next fire times",
    ok: { status: 200, description: "{ schedules }" },
  },
  {
    method: "post",
    path: "/v1/schedules",
    who: "tenant",
    summary: "A reminder (at, with its UTC offset) or a recurring job (cron, timezone)",
    body: CreateSchedule,
    ok: { status: 201, description: "the schedule" },
  },
  {
    method: "delete",
    path: "/v1/schedules/:id",
    who: "tenant",
    summary: "Cancel a schedule",
    ok: { status: 204, description: "cancelled" },
  },
  {
    method: "get",
    path: "/v1/approvals",
    who: "tenant",
    summary: "Tool calls waiting for a person",
    query: ListApprovals,
    ok: { status: 200, description: "{ approvals }" },
  },
  {
    method: "post",
    path: "/v1/approvals/:id",
    who: "tenant",
    summary: "Decide an approval: once, always or deny",
    body: Decide,
    ok: { status: 200, description: "the approval" },
  },
  {
    method: "get",
    path: "/v1/memory",
    who: "tenant",
    summary: "Long-term memory, or a search with ?q=",
    query: ListMemory,
    ok: { status: 200, description: "{ memories }" },
  },
  {
    method: "post",
    path: "/v1/memory",
    who: "tenant",
    summary: "Remember something",
    body: AddMemory,
    ok: { status: 201, description: "the memory" },
  },
  {
    method: "delete",
    path: "/v1/memory/:id",
    who: "tenant",
    summary: "Forget a memory",
    ok: { status: 204, description: "forgotten" },
  },
  {
    method: "get",
    path: "/v1/secrets",
    who: "tenant",
    summary: "The vault's secret names (never values)",
    ok: { status: 200, description: "{ secrets }" },
  },
  {
    method: "put",
    path: "/v1/secrets/:name",
    who: "tenant",
    summary: "Store a secret (encrypted; tools get it at call time)",
    body: PutSecret,
    ok: { status: 204, description: "stored" },
  },
  {
    method: "delete",
    path: "/v1/secrets/:name",
    who: "tenant",
    summary: "Delete a secret",
    ok: { status: 204, description: "deleted" },
  },
  {
    method: "get",
    path: "/v1/policies",
    who: "tenant",
    summary: "Tool policies and the tools",
    ok: { status: 200, description: "{ policies, tools }" },
  },
  {
    method: "put",
    path: "/v1/policies",
    who: "tenant",
    summary: "Set a policy: allow, ask or deny a tool (for a pattern)",
    body: PutPolicy,
    ok: { status: 200, description: "the policy" },
  },
  {
    method: "delete",
    path: "/v1/policies/:tool",
    who: "tenant",
    summary: "Remove a tool's policy (for a pattern)",
    query: Pattern,
    ok: { status: 204, description: "removed" },
  },
  {
    method: "get",
    path: "/v1/usage",
    who: "tenant",
    summary: "Tokens and model calls per day, and the budget left",
    query: Days,
    ok: { status: 200, description: "{ today, dailyTokenBudget, remainingToday, days }" },
  },
  {
    method: "get",
    path: "/v1/blobs",
    who: "tenant",
    summary: "Media people sent",
    query: ListBlobs,
    ok: { status: 200, description: "{ blobs }" },
  },
  {
    method: "get",
    path: "/v1/blobs/:id",
    who: "tenant",
    summary: "One media file's bytes",
    ok: { status: 200, description: "the file, with its content type" },
  },
  {
    method: "get",
    path: "/v1/channels/telegram",
    who: "tenant",
    summary: "The tenant's own Telegram bots",
    ok: { status: 200, description: "{ bots }" },
  },
  {
    method: "post",
    path: "/v1/channels/telegram",
    who: "tenant",
    summary: "Add a Telegram bot of the tenant's own (its token kept in the vault)",
    body: AddTelegramBot,
    ok: { status: 201, description: "the bot" },
  },
  {
    method: "delete",
    path: "/v1/channels/telegram/:id",
    who: "tenant",
    summary: "Remove a bot, its webhook, secrets and pairings",
    ok: { status: 204, description: "removed" },
  },
];

/** Every operation described, as "METHOD path" in Hono's form: what the test compares with the served routes. */
export const DESCRIBED = OPERATIONS.map((o) => `${o.method.toUpperCase()} ${o.path}`);
