import { hc } from "hono/client";
import type { AgentdApi } from "./create.ts";

export type { AgentdApi } from "./create.ts";

export interface ApiClientOptions {
  /** The admin token or a tenant's API key, sent as `Authorization: Bearer <token>`. */
  token: string;
  /** With the admin token: the tenant that tenant routes act for (X-Agentd-Tenant); read on every request. */
  tenant?: () => string | null;
  /** What sends the requests: `fetch` by default; `api.request` to call an app in the same process. */
  fetch?: typeof fetch;
}

/**
 * A typed client of agentd's HTTP API (Hono's `hc` over `AgentdApi`): paths, parameters, bodies and
 * JSON answers are checked by the type-check, e.g. `client.v1.runs[":id"].$get({ param: { id } })`.
 * Answers are plain `Response`s: an error answer is `{ error: { code, message } }` with its status.
 */
export function agentdClient(url: string, opts: ApiClientOptions) {
  return hc<AgentdApi>(url.replace(/\/+$/, ""), {
    headers: () => {
      const tenant = opts.tenant?.() ?? null;
      return { authorization: `Bearer ${opts.token}`, ...(tenant ? { "x-agentd-tenant": tenant } : {}) };
    },
    ...(opts.fetch ? { fetch: opts.fetch } : {}),
  });
}

export type AgentdClient = ReturnType<typeof agentdClient>;
