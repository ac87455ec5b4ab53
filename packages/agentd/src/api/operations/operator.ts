import { z } from "zod";
import { TenantSettings } from "../../tenancy/settings.ts";
import { LiveInput } from "../../tools/browser/live-view.ts";
import { CreateTenant, Identity, ListTenants, PairingCode, PatchTenant } from "../routes/tenants.ts";
import { ListAllRuns } from "../routes/admin-runs.ts";
import type { Operation } from "./types.ts";

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
const Health = z
  .object({
    ok: z.boolean(),
    status: z.enum(["up", "degraded", "down"]),
  })
  .describe(
    "without a token; with the admin token also store, model, workers, runsDue, components, reasons and version",
  );

/** The operator's side and the public routes: health, metrics, the document itself, a handoff's live view, tenants (keys, pairing codes, identities), workers. */
export const OPERATOR: Operation[] = [
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
  // A handoff's live view: the link's token is the credential (the person opens it from a chat)
  {
    method: "get",
    path: "/handoff/:token",
    who: "public",
    summary: "The live view of a tenant's browser a person takes over (a login): valid until Done or its expiry",
    ok: { status: 200, description: "an HTML page (404 once the handoff is done or expired)" },
  },
  {
    method: "get",
    path: "/handoff/:token/screen",
    who: "public",
    summary: "The page as it is now",
    ok: { status: 200, description: "image/png" },
  },
  {
    method: "post",
    path: "/handoff/:token/input",
    who: "public",
    summary: "A click, typed text, a key or a scroll, forwarded to the page",
    body: LiveInput,
    ok: { status: 200, description: "{ ok }" },
  },
  {
    method: "post",
    path: "/handoff/:token/done",
    who: "public",
    summary: "The person is done: the waiting run carries on",
    ok: { status: 200, description: "{ ok }" },
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
    method: "get",
    path: "/v1/tenants/:id/keys",
    who: "admin",
    summary: "The tenant's API keys: id, first characters, created, revoked (never a key)",
    ok: { status: 200, description: "{ keys }" },
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
  {
    method: "get",
    path: "/v1/workers",
    who: "admin",
    summary: "Live workers on this store and what each serves (workflow → version)",
    ok: { status: 200, description: "{ workers }" },
  },
  {
    method: "get",
    path: "/v1/admin/runs",
    who: "admin",
    summary:
      "Runs of every tenant, newest first, paged by cursor, or the one run of an id (each with its tenantId; no input or output)",
    query: ListAllRuns,
    ok: { status: 200, description: "{ runs, next }: next is the cursor of the following page, or null" },
  },
  {
    method: "get",
    path: "/v1/model",
    who: "admin",
    summary:
      "The model endpoint and whether it answers: its model list asked with the key (no tokens spent), cached a minute",
    ok: {
      status: 200,
      description:
        "{ model, state: reachable | unreachable | refused | missing | builtin | unchecked, detail, checkedAt, latencyMs }",
    },
  },
];
