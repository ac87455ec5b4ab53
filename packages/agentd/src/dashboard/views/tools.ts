import { html } from "hono/html";
import type { Routes } from "../routes.ts";
import { ApiAnswerError } from "../api.ts";
import { formOf } from "../forms.ts";
import { csrfField, page } from "../page.ts";
import { viewerOf } from "../viewer.ts";

interface Policy {
  tool?: string;
  pattern?: string;
  action?: string;
}

/**
 * Tools and connections. Each kind has its slot here: the built-in tools and the tenant's policies,
 * bots, SSH hosts with their pinned fingerprints, MCP servers, connections, OAuth apps, Composio
 * accounts, webhooks, the browser profile and the search provider (a slot lists what its route
 * answers, says why the kind is off, or that the route is not in this agentd).
 */
type Item = Record<string, unknown>;
const str = (x: unknown) => (x === null || x === undefined ? "" : String(x));

const SLOTS: {
  title: string;
  path: string;
  what: string;
  show: (x: Item) => string;
  /** Why the kind is off for this tenant, read from the route's answer (its list is then empty). */
  off?: (body: Item) => string | null;
  /** The dashboard's action that removes one (a form posted with the CSRF token), when the kind has one. */
  remove?: (x: Item) => { action: string; label: string };
}[] = [
  {
    title: "Telegram bots",
    path: "/v1/channels/telegram",
    what: "bots",
    show: (x) => `@${str(x.username)} (${str(x.mode)})`,
  },
  {
    title: "SSH hosts",
    path: "/v1/ssh/hosts",
    what: "hosts",
    show: (x) =>
      `${str(x.name)}: ${str(x.user)}@${str(x.address)}:${str(x.port)} · ${x.fingerprint ? `pinned ${str(x.fingerprint)}` : `waiting for confirmation of ${str(x.pendingFingerprint)}`}`,
  },
  {
    title: "MCP servers",
    path: "/v1/mcp/servers",
    what: "servers",
    show: (x) =>
      `${str(x.name)} · ${str(x.transport)}${x.url ? ` ${str(x.url)}` : ""} · ${x.enabled ? "on" : "off"} (${str(x.origin)})`,
  },
  {
    title: "Connections (OAuth)",
    path: "/v1/connections",
    what: "connections",
    show: (x) => `${str(x.name)} · ${str(x.app)}${x.account ? ` as ${str(x.account)}` : ""} · ${str(x.status)}`,
  },
  {
    title: "OAuth apps",
    path: "/v1/oauth-apps",
    what: "apps",
    show: (x) => `${str(x.name)}${x.issuer ? ` · ${str(x.issuer)}` : ""}`,
  },
  {
    title: "Composio accounts",
    path: "/v1/composio/accounts",
    what: "accounts",
    show: (x) => `${str(x.toolkit)} · ${str(x.status).toLowerCase()} · ${str(x.id)}`,
    remove: (x) => ({
      action: `/tools/composio/${encodeURIComponent(str(x.id))}/remove`,
      label: `Remove the ${str(x.toolkit)} account ${str(x.id)}`,
    }),
    off: (body) =>
      body.enabled === false
        ? "Composio is off for this tenant: the operator sets AGENTD_COMPOSIO_API_KEY, or the tenant keeps its own COMPOSIO_API_KEY in its vault."
        : null,
  },
  {
    title: "Webhooks",
    path: "/v1/webhooks",
    what: "webhooks",
    show: (x) => `${str(x.url)} · ${Array.isArray(x.events) ? x.events.join(", ") : str(x.events)}`,
  },
  {
    title: "Browser profiles",
    path: "/v1/browser/profiles",
    what: "profiles",
    show: (x) => {
      const sites = Array.isArray(x.sites) ? (x.sites as string[]) : [];
      const pages = Array.isArray(x.pages) ? (x.pages as string[]) : [];
      return `${str(x.name)} · signed in to ${sites.length ? sites.join(", ") : "no site"}${pages.length ? ` · open: ${pages.join(", ")}` : ""}`;
    },
    remove: (x) => ({
      action: `/tools/browser/${encodeURIComponent(str(x.name))}/forget`,
      label: `Remove the browser profile ${str(x.name)} (signs out of every site)`,
    }),
    off: (body) =>
      body.enabled === false
        ? "The browser tools are off: the operator installs Chromium (apt-get install chromium) or sets AGENTD_CHROMIUM."
        : null,
  },
  {
    title: "Search providers",
    path: "/v1/search/providers",
    what: "providers",
    show: (x) => `${str(x.name)} · ${str(x.detail)}`,
    off: (body) =>
      body.enabled === false
        ? "Web search is off: the operator sets AGENTD_SEARCH_PROVIDER, or the tenant sets searchProvider and keeps its key in its vault."
        : null,
  },
];

export function toolPages({ r, guard, app }: Routes) {
  // Removing a Composio account deletes it at Composio, which revokes its tokens (the API's DELETE).
  r.post("/tools/composio/:id/remove", guard, async (c) => {
    const v = viewerOf(c);
    await formOf(c);
    await v.api.send("DELETE", `/v1/composio/accounts/${encodeURIComponent(c.req.param("id"))}`);
    return c.redirect("/tools", 303);
  });

  // Forgetting the browser profile signs the tenant's browser out of every site (the API's DELETE).
  r.post("/tools/browser/:name/forget", guard, async (c) => {
    const v = viewerOf(c);
    await formOf(c);
    await v.api.send("DELETE", `/v1/browser/profiles/${encodeURIComponent(c.req.param("name"))}`);
    return c.redirect("/tools", 303);
  });

  r.get("/tools", guard, async (c) => {
    const v = viewerOf(c);
    const removeForm = (x: { action: string; label: string } | undefined) =>
      x
        ? html` <form method="post" action="${x.action}" class="inline">${csrfField(v)}<button type="submit" class="danger" aria-label="${x.label}">Remove</button></form>`
        : "";
    const builtins = app.tools.names();
    const policies = v.tenantId ? await v.api.get<{ policies?: Policy[] }>("/v1/policies").catch(() => null) : null;
    const slots = v.tenantId
      ? await Promise.all(
          SLOTS.map(async (s) => ({
            ...s,
            items: await v.api
              .get<Item>(s.path)
              .then((x): Item[] | string | null => s.off?.(x) ?? (x[s.what] as Item[] | undefined) ?? null)
              // 404: the route is not in this agentd (the slot waits for it); anything else is shown.
              .catch((e: unknown) => (e instanceof ApiAnswerError && e.status === 404 ? null : (e as Error).message)),
          })),
        )
      : [];
    return page(
      c,
      v,
      "Tools and connections",
      html`<section><h2>Built-in tools</h2>${builtins.length ? html`<ul class="tags">${builtins.map((n: string) => html`<li><code>${n}</code></li>`)}</ul>` : html`<p class="muted">See the tenant's settings (tools, deniedTools).</p>`}</section>
${policies ? html`<section><h2>Policies</h2><pre class="json" tabindex="0">${JSON.stringify(policies, null, 2)}</pre></section>` : ""}
<div class="cards">${slots.map(
        (s) =>
          html`<section class="card slot"><h2>${s.title}</h2>${
            s.items === null
              ? html`<p class="muted">Not in this version of agentd yet (<code>${s.path}</code>).</p>`
              : typeof s.items === "string"
                ? html`<p class="${s.off ? "muted" : "error"}">${s.items}</p>`
                : s.items.length === 0
                  ? html`<p class="muted">None configured.</p>`
                  : html`<ul class="plain">${s.items.slice(0, 50).map((x) => html`<li>${s.show(x)}${removeForm(s.remove?.(x))}</li>`)}</ul>`
          }</section>`,
      )}</div>`,
    );
  });
}
