import type { Context } from "hono";
import { html } from "hono/html";
import type { HtmlEscapedString } from "hono/utils/html";
import type { Viewer } from "./viewer.ts";

/** A fragment of a page: hono/html's tagged templates escape every value put in them. */
export type Html = HtmlEscapedString | Promise<HtmlEscapedString>;

/**
 * No inline script or style anywhere: the one script and the one stylesheet are files of this
 * folder served from /assets; SVG bars take their sizes from attributes, not style.
 */
export const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; " +
  "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const NAV: [path: string, label: string, adminOnly?: boolean][] = [
  ["/", "Overview"],
  ["/runs", "Runs"],
  ["/runs/failed", "Failed"],
  ["/approvals", "Approvals"],
  ["/schedules", "Schedules"],
  ["/chat", "Chat"],
  ["/sessions", "Sessions"],
  ["/memory", "Memory"],
  ["/tools", "Tools"],
  ["/tenants", "Tenants", true],
];

/** A whole page: the header with the navigation and who is signed in, then `body`. */
export function page(c: Context, v: Viewer, title: string, body: Html, status: 200 | 404 | 400 | 403 | 409 = 200) {
  const here = new URL(c.req.url).pathname;
  const current = (p: string) =>
    p === here || (p !== "/" && here.startsWith(`${p}/`) && !NAV.some(([q]) => q !== p && here.startsWith(q)));
  return c.html(
    html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="csrf-token" content="${v.csrf}">
<meta name="agentd-tenant" content="${v.tenantId ?? ""}">
<title>${title} · agentd</title>
<link rel="stylesheet" href="/assets/dash.css">
<script type="module" src="/assets/dash.js"></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
  <span class="brand">agentd</span>
  <nav aria-label="Sections"><ul>
    ${NAV.filter(([, , admin]) => !admin || v.caller.kind === "admin").map(
      ([p, label]) => html`<li><a href="${p}"${current(p) ? html` aria-current="page"` : ""}>${label}</a></li>`,
    )}
  </ul></nav>
  <div class="who">
    ${tenantPicker(v)}
    <form method="post" action="/logout"><input type="hidden" name="_csrf" value="${v.csrf}"><button type="submit" class="link">Sign out</button></form>
  </div>
</header>
<main id="main">
<h1>${title}</h1>
${body}
</main>
</body>
</html>`,
    status,
  );
}

function tenantPicker(v: Viewer) {
  if (v.caller.kind !== "admin")
    return html`<span class="muted">tenant <code>${v.tenantName ?? v.tenantId}</code></span>`;
  return html`<form method="get" action="/tenant" class="picker">
    <label for="tenant-pick">Acting for</label>
    <select id="tenant-pick" name="id">
      ${v.tenants.length === 0 ? html`<option value="">(no tenants yet)</option>` : ""}
      ${v.tenants.map((t) => html`<option value="${t.id}"${t.id === v.tenantId ? html` selected` : ""}>${t.name} (${t.id})</option>`)}
    </select>
    <button type="submit">Switch</button>
  </form>`;
}

/** A page without the signed-in frame (the sign-in form, errors before a session). */
export function bare(c: Context, title: string, body: Html, status: 200 | 401 | 403 | 429 = 200) {
  return c.html(
    html`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · agentd</title><link rel="stylesheet" href="/assets/dash.css"></head>
<body class="bare"><main id="main">${body}</main></body></html>`,
    status,
  );
}

/**
 * A time: UTC (named) in the page, turned into the viewer's zone (named) by the script; `zone`
 * pins it to a zone instead (a tenant's, for schedules), shown with that zone's name.
 */
export function time(ms: number | null | undefined, zone?: string) {
  if (ms === null || ms === undefined) return html`<span class="muted">—</span>`;
  const iso = new Date(ms).toISOString();
  const shown = zone ? inZone(ms, zone) : `${iso.slice(0, 19).replace("T", " ")} UTC`;
  return html`<time datetime="${iso}"${zone ? html` data-zone="${zone}"` : ""}>${shown}</time>`;
}

export function inZone(ms: number, zone: string): string {
  return new Intl.DateTimeFormat("en-GB", {
    timeZone: zone,
    year: "numeric",
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    timeZoneName: "short",
  }).format(ms);
}

export function duration(ms: number | null): string {
  if (ms === null || ms < 0) return "—";
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
  return `${Math.floor(ms / 3_600_000)} h ${Math.round((ms % 3_600_000) / 60_000)} min`;
}

export const badge = (status: string) => html`<span class="badge s-${status}">${status}</span>`;

/** The hidden field every form that changes something carries. */
export const csrfField = (v: Viewer) => html`<input type="hidden" name="_csrf" value="${v.csrf}">`;

/** JSON for people, shown in a <pre>: already redacted by the API. */
export function json(value: unknown) {
  if (value === null || value === undefined) return html`<span class="muted">none</span>`;
  const text = typeof value === "string" ? value : JSON.stringify(value, null, 2);
  return html`<pre class="json" tabindex="0">${text.length > 20_000 ? `${text.slice(0, 20_000)}\n… (${text.length} characters)` : text}</pre>`;
}

export const shortId = (id: string) => (id.length > 14 ? `${id.slice(0, 8)}…${id.slice(-4)}` : id);
