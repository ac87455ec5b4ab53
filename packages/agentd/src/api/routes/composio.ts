import { randomBytes } from "node:crypto";
import { type Context, Hono } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { Agentd } from "../../app.ts";
import { AgentdError } from "../../errors.ts";
import { type TenantEnv, scopeOf } from "../env.ts";
import { errorResponse, statusOf } from "../errors.ts";
import { page } from "./connections.ts";

/** Composio's failures are the tenant's to act on (a key to set, Composio down): said, not hidden behind a log reference. */
const COMPOSIO_STATUS: Partial<Record<string, ContentfulStatusCode>> = {
  not_configured: 409,
  unavailable: 502,
  bad_response: 502,
};

async function answer(c: Context, fn: () => Promise<Response>): Promise<Response> {
  try {
    return await fn();
  } catch (e) {
    const status = AgentdError.is(e) ? COMPOSIO_STATUS[e.code] : undefined;
    if (status && AgentdError.is(e)) return errorResponse(c, status, e.code, e.message);
    throw e;
  }
}

/** The tenant's accounts at Composio: listed, connected through a link, removed (its own user's only). */
export function composioRoutes(app: Agentd) {
  return new Hono<TenantEnv>()
    .get("/composio/accounts", async (c) => {
      const scope = scopeOf(app, c);
      if (!(await app.composio.enabled(scope))) return c.json({ enabled: false, accounts: [] });
      return answer(c, async () => c.json({ enabled: true, accounts: await app.composio.accounts.list(scope) }));
    })
    .post("/composio/accounts/:toolkit/connect", (c) =>
      answer(c, async () => {
        const { url } = await app.composio.accounts.begin(scopeOf(app, c), {
          id: `oap_api_${randomBytes(9).toString("hex")}`,
          toolkit: c.req.param("toolkit"),
          runId: null,
          sessionId: null,
        });
        return c.json({ url });
      }),
    )
    .delete("/composio/accounts/:id", (c) =>
      answer(c, async () => c.json(await app.composio.accounts.remove(scopeOf(app, c), c.req.param("id")))),
    );
}

/**
 * Where Composio sends the person back (outside /v1, no token: the state names the authorization
 * and so the tenant). The account counts as connected only when Composio says it is ACTIVE.
 */
export function composioCallbackRoutes(app: Agentd) {
  return new Hono().get("/composio/callback", async (c) => {
    try {
      const r = await app.composio.accounts.complete(new URL(c.req.url));
      return c.html(page(r.ok ? "Connected" : "Not connected", r.message), r.ok ? 200 : 400);
    } catch (e) {
      if (!AgentdError.is(e)) throw e;
      const status = COMPOSIO_STATUS[e.code] ?? statusOf(e) ?? 400;
      return c.html(page("Not connected", e.message), status === 500 ? 502 : status);
    }
  });
}
