// A local stand-in of the Composio REST API (v3.1), answering the routes @composio/core 0.19 calls with
// the payloads its parsers require and Composio's error shape ({ "error": { message, code, slug, status,
// request_id } }), on 127.0.0.1. A person "completing" a connect link is a GET of its redirect_url:
// the account turns ACTIVE and the browser is sent to the callback_url agentd gave, as Composio does.
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface StandInTool {
  slug: string;
  name: string;
  description: string;
  toolkit: string;
  version: string;
  input_parameters: Record<string, unknown>;
}

interface Account {
  id: string;
  user_id: string;
  toolkit: string;
  auth_config_id: string;
  status: "INITIATED" | "ACTIVE" | "EXPIRED" | "FAILED";
  callback_url: string | null;
  token: string;
  created_at: string;
}

export interface Executed {
  slug: string;
  user_id: string;
  version: string;
  arguments: Record<string, unknown>;
  account: string;
}

export interface ComposioStandIn {
  url: string;
  /** The API keys it accepts (the operator's, a tenant's own). */
  keys: Set<string>;
  accounts: Map<string, Account>;
  /** Executions that reached a connected account, in order. */
  executed: Executed[];
  /** Every request: method, path, the key that came with it. */
  requests: { method: string; path: string; key: string | undefined; query: URLSearchParams }[];
  /** What the person does at the connect page: "allow" (ACTIVE) or "deny" (FAILED). */
  complete(redirectUrl: string, answer?: "allow" | "deny"): Promise<string>;
  /**
   * Holds every execution from now until the function it returns is called: a held request is
   * neither run nor answered, and one whose client goes away meanwhile (its process killed) is never
   * run, as if it had not reached Composio. `dropped` counts those.
   */
  hold(): () => void;
  dropped: number;
  /** Makes a user's account of a toolkit need a reconnect (Composio lost its tokens). */
  expire(userId: string, toolkit: string): void;
  close(): Promise<void>;
}

const now = () => new Date().toISOString();

/** GitHub's toolkit as 900 toolkits' worth of tools would look to one that searches: a few with real schemas. */
export const GITHUB_TOOLS: StandInTool[] = [
  {
    slug: "GITHUB_STAR_A_REPOSITORY_FOR_THE_AUTHENTICATED_USER",
    name: "Star a repository",
    description: "Stars a repository for the authenticated user.",
    toolkit: "github",
    version: "20250909_00",
    input_parameters: {
      type: "object",
      properties: { owner: { type: "string", description: "The account owner" }, repo: { type: "string" } },
      required: ["owner", "repo"],
    },
  },
  {
    slug: "GITHUB_GET_A_REPOSITORY",
    name: "Get a repository",
    description: "Gets a repository.",
    toolkit: "github",
    version: "20250909_00",
    input_parameters: {
      type: "object",
      properties: { owner: { type: "string" }, repo: { type: "string" } },
      required: ["owner", "repo"],
    },
  },
  ...Array.from({ length: 40 }, (_, i) => ({
    slug: `GITHUB_FILLER_ACTION_${i}`,
    name: `Filler ${i}`,
    description: `Another GitHub action (${i}).`,
    toolkit: "github",
    version: "20250909_00",
    input_parameters: { type: "object", properties: { n: { type: "integer" } } },
  })),
];

const toolOut = (t: StandInTool) => ({
  slug: t.slug,
  name: t.name,
  description: t.description,
  toolkit: { slug: t.toolkit, name: t.toolkit, logo: "" },
  version: t.version,
  available_versions: [t.version],
  input_parameters: t.input_parameters,
  output_parameters: { type: "object", properties: {} },
  tags: [],
  no_auth: false,
  deprecated: { is_deprecated: false },
});

const accountOut = (a: Account) => ({
  id: a.id,
  user_id: a.user_id,
  status: a.status,
  status_reason: null,
  toolkit: { slug: a.toolkit },
  auth_config: { id: a.auth_config_id, auth_scheme: "OAUTH2", is_composio_managed: true, is_disabled: false },
  // What Composio returns to an account's owner: the raw credential. agentd must never pass it on.
  data: { access_token: a.token },
  is_disabled: false,
  created_at: a.created_at,
  updated_at: a.created_at,
});

export async function startComposioServer(
  opts: { keys?: string[]; tools?: StandInTool[] } = {},
): Promise<ComposioStandIn> {
  const keys = new Set(opts.keys ?? ["ck_operator"]);
  const tools = opts.tools ?? GITHUB_TOOLS;
  const accounts = new Map<string, Account>();
  const authConfigs = new Map<string, string>();
  const links = new Map<string, string>();
  const executed: Executed[] = [];
  const requests: ComposioStandIn["requests"] = [];
  let held: (() => void)[] | null = null;

  const fail = (res: ServerResponse, status: number, message: string, slug: string) => {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(
      JSON.stringify({
        error: { message, code: status * 10, slug, status, request_id: randomBytes(6).toString("hex") },
      }),
    );
  };
  const json = (res: ServerResponse, body: unknown) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  };
  const list = (q: URLSearchParams, name: string) => (q.get(name) ? (q.get(name) as string).split(",") : null);

  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    let raw = "";
    for await (const c of req) raw += c;
    const u = new URL(req.url ?? "/", "http://x");
    const key = req.headers["x-api-key"] as string | undefined;
    requests.push({ method: req.method ?? "GET", path: u.pathname, key, query: u.searchParams });
    const body = raw ? JSON.parse(raw) : {};
    const p = u.pathname;
    const q = u.searchParams;

    const connect = /^\/connect\/([a-z0-9]+)$/.exec(p);
    if (connect) {
      const a = accounts.get(links.get(connect[1] as string) ?? "");
      if (!a) return fail(res, 404, "Link not found", "Link_NotFound");
      const denied = q.get("answer") === "deny";
      a.status = denied ? "FAILED" : "ACTIVE";
      const back = new URL(a.callback_url ?? "http://127.0.0.1:9/");
      back.searchParams.set("status", denied ? "failed" : "success");
      back.searchParams.set("connected_account_id", a.id);
      res.writeHead(302, { location: back.href });
      return res.end();
    }
    if (!key || !keys.has(key)) return fail(res, 401, "Invalid API key", "Auth_InvalidApiKey");

    if (req.method === "GET" && p === "/api/v3.1/auth_configs") {
      const tk = q.get("toolkit_slug");
      const items = [...authConfigs]
        .filter(([t]) => !tk || t === tk)
        .map(([t, id]) => ({
          id,
          name: `${t} auth`,
          toolkit: { slug: t, logo: "" },
          no_of_connections: 0,
          status: "ENABLED",
          auth_scheme: "OAUTH2",
          is_composio_managed: true,
        }));
      return json(res, { items, next_cursor: null, total_pages: 1 });
    }
    if (req.method === "POST" && p === "/api/v3.1/auth_configs") {
      const tk = body?.toolkit?.slug;
      if (typeof tk !== "string") return fail(res, 400, "toolkit.slug is required", "Validation");
      const id = authConfigs.get(tk) ?? `ac_${randomBytes(6).toString("hex")}`;
      authConfigs.set(tk, id);
      return json(res, {
        toolkit: { slug: tk },
        auth_config: { id, auth_scheme: "OAUTH2", is_composio_managed: true },
      });
    }
    if (req.method === "POST" && p === "/api/v3.1/connected_accounts/link") {
      const tk = [...authConfigs].find(([, id]) => id === body.auth_config_id)?.[0];
      if (!tk) return fail(res, 404, "Auth config not found", "AuthConfig_NotFound");
      if (typeof body.user_id !== "string") return fail(res, 400, "user_id is required", "Validation");
      const a: Account = {
        id: `ca_${randomBytes(6).toString("hex")}`,
        user_id: body.user_id,
        toolkit: tk,
        auth_config_id: body.auth_config_id,
        status: "INITIATED",
        callback_url: body.callback_url ?? null,
        token: `gho_${randomBytes(12).toString("hex")}`,
        created_at: now(),
      };
      accounts.set(a.id, a);
      const token = randomBytes(8).toString("hex");
      links.set(token, a.id);
      return json(res, {
        connected_account_id: a.id,
        link_token: token,
        redirect_url: `${url}/connect/${token}`,
        expires_at: new Date(Date.now() + 600_000).toISOString(),
      });
    }
    if (req.method === "GET" && p === "/api/v3.1/connected_accounts") {
      const users = list(q, "user_ids");
      const tks = list(q, "toolkit_slugs");
      const statuses = list(q, "statuses");
      const configs = list(q, "auth_config_ids");
      const items = [...accounts.values()].filter(
        (a) =>
          (!users || users.includes(a.user_id)) &&
          (!tks || tks.includes(a.toolkit)) &&
          (!statuses || statuses.includes(a.status)) &&
          (!configs || configs.includes(a.auth_config_id)),
      );
      return json(res, { items: items.map(accountOut), next_cursor: null, total_pages: 1 });
    }
    const account = /^\/api\/v3\.1\/connected_accounts\/([^/]+)$/.exec(p);
    if (account) {
      const a = accounts.get(decodeURIComponent(account[1] as string));
      if (!a) return fail(res, 404, "Connected account not found", "ConnectedAccount_NotFound");
      if (req.method === "GET") return json(res, accountOut(a));
      if (req.method === "DELETE") {
        accounts.delete(a.id);
        return json(res, { success: true });
      }
    }
    if (req.method === "GET" && p === "/api/v3.1/tools") {
      const tk = list(q, "toolkit_slug");
      const search = (q.get("search") ?? "").toLowerCase();
      const limit = Number(q.get("limit") ?? 20);
      const items = tools
        .filter(
          (t) =>
            (!tk || tk.includes(t.toolkit)) && (!search || `${t.name} ${t.description}`.toLowerCase().includes(search)),
        )
        .slice(0, limit);
      return json(res, { items: items.map(toolOut), next_cursor: null, total_pages: 1 });
    }
    const tool = /^\/api\/v3\.1\/tools\/([A-Z0-9_]+)$/.exec(p);
    if (req.method === "GET" && tool) {
      const t = tools.find((x) => x.slug === tool[1]);
      if (!t) return fail(res, 404, `Tool ${tool[1]} not found`, "Tool_NotFound");
      const version = q.get("version");
      if (version && version !== t.version)
        return fail(res, 400, `Version ${version} not found`, "Tool_VersionNotFound");
      return json(res, toolOut(t));
    }
    const exec = /^\/api\/v3\.1\/tools\/execute\/([A-Z0-9_]+)$/.exec(p);
    if (req.method === "POST" && exec && held) {
      const waiting = held;
      let gone = false;
      await new Promise<void>((release) => {
        waiting.push(release);
        res.once("close", () => {
          gone = true;
          release();
        });
      });
      if (gone) {
        standIn.dropped++;
        return;
      }
    }
    if (req.method === "POST" && exec) {
      const t = tools.find((x) => x.slug === exec[1]);
      if (!t) return fail(res, 404, `Tool ${exec[1]} not found`, "Tool_NotFound");
      if (!body.version || body.version === "latest")
        return fail(res, 400, "A toolkit version is required", "Tool_VersionRequired");
      const a = [...accounts.values()].find(
        (x) => x.user_id === body.user_id && x.toolkit === t.toolkit && x.status === "ACTIVE",
      );
      if (!a)
        return json(res, {
          data: {},
          error: `No active connection found for user ${body.user_id} and toolkit ${t.toolkit}`,
          successful: false,
          log_id: "log_none",
        });
      executed.push({
        slug: t.slug,
        user_id: body.user_id,
        version: body.version,
        arguments: body.arguments,
        account: a.id,
      });
      const args = body.arguments ?? {};
      return json(res, {
        data: { status_code: 204, message: `${t.name}: ${args.owner}/${args.repo}` },
        error: null,
        successful: true,
        log_id: `log_${executed.length}`,
      });
    }
    return fail(res, 404, `No route ${req.method} ${p}`, "NotFound");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const standIn: ComposioStandIn = {
    url,
    keys,
    accounts,
    executed,
    requests,
    dropped: 0,
    hold() {
      const mine: (() => void)[] = [];
      held = mine;
      return () => {
        if (held === mine) held = null;
        for (const release of mine) release();
      };
    },
    async complete(redirectUrl, answer = "allow") {
      const target = new URL(redirectUrl);
      if (answer === "deny") target.searchParams.set("answer", "deny");
      const res = await fetch(target, { redirect: "manual" });
      if (res.status !== 302) throw new Error(`the connect page answered ${res.status}`);
      return res.headers.get("location") as string;
    },
    expire(userId, toolkit) {
      for (const a of accounts.values()) if (a.user_id === userId && a.toolkit === toolkit) a.status = "EXPIRED";
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
  return standIn;
}
