// A tenant's connections on a real store and vault, against a real OpenID provider on 127.0.0.1,
// with a clock the test moves and the run events the callback sends recorded.
import { policies } from "../../src/agent/policy.ts";
import { createApi } from "../../src/api/create.ts";
import { createAgentd } from "../../src/app.ts";
import type { Delivery } from "../../src/channels/ports.ts";
import type { OAuthApp } from "../../src/connections/apps.ts";
import { Connections } from "../../src/connections/service.ts";
import type { Db } from "../../src/db/index.ts";
import { Tenants } from "../../src/tenancy/tenants.ts";
import type { TenantScope } from "../../src/tenancy/scope.ts";
import { generateMasterKey, toMasterKeys } from "../../src/vault/keys.ts";
import { Vault } from "../../src/vault/vault.ts";
import type { Backend } from "../support/backends.ts";
import { startModelServer } from "../support/model-server.ts";
import { type OAuthServer, startOAuthServer } from "../support/oauth-server.ts";

export const PUBLIC_URL = "http://127.0.0.1:9/agentd";
export const REDIRECT = `${PUBLIC_URL}/oauth/callback`;
export const NET = { allowPrivate: true, allowHosts: [] };

export interface Rig {
  db: Db;
  vault: Vault;
  server: OAuthServer;
  clock: { now: number };
  events: { runId: string; name: string; payload: unknown; eventId: string }[];
  tenants: Tenants;
  scope: TenantScope;
  app: OAuthApp;
  /** Another process's view of the same store (its own caches and in-flight refreshes). */
  connections(): Connections;
}

export async function rig(
  t: { after(fn: () => unknown): void },
  b: Backend,
  opts: { accessTtlSeconds?: number; rotate?: boolean } = {},
): Promise<Rig> {
  const { db } = await b.db(t);
  const server = await startOAuthServer({ redirectUri: REDIRECT, ...opts });
  t.after(() => server.close());
  const clock = { now: Date.now() };
  const vault = new Vault(db, toMasterKeys([generateMasterKey()], "test"), () => clock.now);
  const tenants = new Tenants(db, () => clock.now);
  const tenant = await tenants.create("t");
  const events: Rig["events"] = [];
  const app = githubApp(server, { testUrl: `${server.apiUrl}/user` });
  const connections = () =>
    new Connections({
      db,
      vault,
      net: NET,
      now: () => clock.now,
      scope: (id) => tenants.scope(id),
      apps: [app],
      publicUrl: PUBLIC_URL,
      events: {
        sendEvent: async (runId, name, payload, o) => {
          events.push({ runId, name, payload, eventId: o.eventId });
          return { delivered: true };
        },
      },
      linkTtlMs: 60 * 60_000,
    });
  return { db, vault, server, clock, events, tenants, scope: tenants.scope(tenant.id), app, connections };
}

/** Connects `name` for the rig's tenant the way a person does: the link, the provider, the callback. */
export async function connectAs(r: Rig, c: Connections, account = "alice", id = `oap_${account}`): Promise<URL> {
  const { url } = await c.begin(r.scope, { id, connection: "github", app: "github", runId: "run-1", sessionId: null });
  const back = await r.server.authorize(url, { account });
  const done = await c.complete(back);
  if (!done.ok) throw new Error(done.message);
  return back;
}

/** The GitHub-like app of the provider stand-in, as an operator lists it in AGENTD_OAUTH_APPS. */
export function githubApp(server: OAuthServer, extra: Partial<OAuthApp> = {}): OAuthApp {
  return {
    name: "github",
    clientId: server.clientId,
    clientSecret: server.clientSecret,
    issuer: server.issuer,
    scopes: ["openid", "repo"],
    resource: `${server.apiUrl}/`,
    apiHosts: [new URL(server.apiUrl).host],
    ...extra,
  };
}

/**
 * A started agentd on `b` whose operator lists the provider's github app (its hosts the only private
 * ones it may reach), the HTTP channel's deliveries recorded, and a tenant whose http_request is allowed.
 */
export async function agentdWithGithub(
  t: { after(fn: () => unknown): void },
  b: Backend,
  server: OAuthServer,
  publicUrl: string,
  logs: string[] = [],
) {
  const model = await startModelServer();
  t.after(() => model.close());
  const place = b.place(t);
  const app = await createAgentd({
    env: {},
    logger: (r) => logs.push(JSON.stringify(r)),
    config: {
      ...place,
      adminToken: "admin-test-token",
      model: { id: "m", baseURL: model.url, apiKey: "k" },
      net: { allowPrivate: false, allowHosts: [new URL(server.issuer).host, new URL(server.apiUrl).host] },
      connections: { apps: [githubApp(server)], linkTtl: "1h", publicUrl },
    },
  });
  t.after(() => app.close());
  const sent: Delivery[] = [];
  app.channels.register({ channel: "http", deliver: async (d) => void sent.push(d) });
  await app.start();
  const tenant = await app.tenants.create("s");
  await policies.set(app.tenants.scope(tenant.id), { tool: "http_request", decision: "allow" }, Date.now());
  return { app, api: createApi(app), model, sent, tenant, place };
}
