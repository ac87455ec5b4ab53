import { html } from "hono/html";
import type { Routes } from "../routes.ts";
import { formOf } from "../forms.ts";
import { badge, csrfField, duration, page, shortId, time } from "../page.ts";
import { viewerOf } from "../viewer.ts";
import { runPage } from "./run.ts";
import { type RunView, STATUSES } from "./types.ts";

const SINCE: Record<string, number> = {
  "1h": 3_600_000,
  "24h": 86_400_000,
  "7d": 7 * 86_400_000,
  "30d": 30 * 86_400_000,
};
const RUN_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Runs: the list with its filters (keyset pages), the failed runs with retry, one run. */
export function runPages({ r, guard, app }: Routes) {
  r.get("/runs", guard, async (c) => {
    const v = viewerOf(c);
    const q = c.req.query();
    const find = (q.q ?? "").trim();
    // The operator may list every tenant's runs at once (GET /v1/admin/runs), each row naming its tenant.
    const all = v.caller.kind === "admin" && q.all === "1";
    if (RUN_ID.test(find)) {
      if (v.caller.kind !== "admin") return c.redirect(`/runs/${find}`, 303);
      // The operator's pasted id may be any tenant's: the run opens as its own tenant.
      const [run] = (await v.api.get<{ runs: { tenantId: string | null }[] }>("/v1/admin/runs", { id: find })).runs;
      const next = `/runs/${find}`;
      return c.redirect(run?.tenantId ? `/tenant?${new URLSearchParams({ id: run.tenantId, next })}` : next, 303);
    }
    const status = STATUSES.find((s) => s === q.status);
    const since = SINCE[q.since ?? ""];
    const filters = {
      limit: 50,
      status,
      workflow: q.workflow?.trim() || undefined,
      since: since ? app.kernel.clock.now() - since : undefined,
      cursor: q.cursor,
    };
    const list = all
      ? await v.api.get<{ runs: RunView[]; next: string | null }>("/v1/admin/runs", filters)
      : await v.api.get<{ runs: RunView[]; next: string | null }>("/v1/runs", { ...filters, key: find || undefined });
    const keep = new URLSearchParams();
    for (const k of ["all", "status", "workflow", "q", "since"]) if (q[k]) keep.set(k, q[k] as string);
    const nextLink = list.next ? `/runs?${new URLSearchParams([...keep, ["cursor", list.next]])}` : null;
    return page(
      c,
      v,
      all ? "Runs of every tenant" : "Runs",
      html`<form method="get" action="/runs" class="filters" role="search" aria-label="Filter runs">
  ${v.caller.kind === "admin" ? html`<label>Tenants <select name="all"><option value="">${v.tenantName ?? "the picked one"}</option><option value="1"${all ? html` selected` : ""}>all tenants</option></select></label>` : ""}
  <label>Status <select name="status"><option value="">any</option>${STATUSES.map((s) => html`<option${s === status ? html` selected` : ""}>${s}</option>`)}</select></label>
  <label>Workflow <input name="workflow" value="${q.workflow ?? ""}" placeholder="agent.turn" size="14"></label>
  <label>Created <select name="since"><option value="">any time</option>${Object.keys(SINCE).map((s) => html`<option value="${s}"${s === q.since ? html` selected` : ""}>last ${s}</option>`)}</select></label>
  <label>${all ? "Run id" : "Run id or key"} <input name="q" value="${find}" size="18"></label>
  <button type="submit">Filter</button>
</form>
${runTable(list.runs, false, all ? new Map(v.tenants.map((t) => [t.id, t.name])) : undefined)}
<nav class="pager" aria-label="Pages">${q.cursor ? html`<a href="/runs?${keep.toString()}">Newest</a>` : ""} ${nextLink ? html`<a href="${nextLink}" rel="next">Older runs →</a>` : html`<span class="muted">No older runs.</span>`}</nav>`,
    );
  });

  r.get("/runs/failed", guard, async (c) => {
    const v = viewerOf(c);
    // The operator may see every tenant's dead letters at once, and retry them together.
    const all = v.caller.kind === "admin" && c.req.query("all") === "1";
    const list = await v.api.get<{ runs: RunView[]; next: string | null }>(all ? "/v1/admin/runs" : "/v1/runs", {
      status: "failed",
      limit: 100,
      cursor: c.req.query("cursor"),
    });
    const done = c.req.query("retried");
    const scope = all ? "all=1&" : "";
    return page(
      c,
      v,
      all ? "Failed runs of every tenant" : "Failed runs",
      html`${done ? html`<p class="notice" role="status">Retried ${done} run(s).</p>` : ""}
<p class="muted">Runs that ended failed (the dead letters). Retry re-runs the failed step; what already succeeded is not done again.</p>
${v.caller.kind === "admin" ? html`<p>${all ? html`<a href="/runs/failed">Only ${v.tenantName ?? "the picked tenant"}</a>` : html`<a href="/runs/failed?all=1">Every tenant's failed runs</a>`}</p>` : ""}
<form method="post" action="/runs/retry${all ? "?all=1" : ""}">${csrfField(v)}
${runTable(list.runs, true, all ? new Map(v.tenants.map((t) => [t.id, t.name])) : undefined)}
${list.runs.length > 0 ? html`<button type="submit">Retry the selected runs</button>` : ""}
</form>
${list.next ? html`<nav class="pager"><a href="/runs/failed?${scope}cursor=${list.next}">Older →</a></nav>` : ""}`,
    );
  });

  r.post("/runs/retry", guard, async (c) => {
    const v = viewerOf(c);
    const form = await formOf(c);
    const picked = ([] as string[]).concat(form.run ?? []).slice(0, 100);
    // A row of the operator's list of every tenant reads "<tenant>/<run>": retried as that tenant.
    for (const value of picked) {
      const [tenant, id] = value.includes("/") ? (value.split("/", 2) as [string, string]) : [null, value];
      const api = tenant && v.caller.kind === "admin" ? v.apiFor(tenant) : v.api;
      await api.send("POST", `/v1/runs/${encodeURIComponent(id)}/retry`);
    }
    return c.redirect(`/runs/failed?${c.req.query("all") === "1" ? "all=1&" : ""}retried=${picked.length}`, 303);
  });

  r.get("/runs/:id", guard, (c) => runPage(c, viewerOf(c), c.req.param("id"), app.kernel.clock.now()));

  r.post("/runs/:id/:action{retry|cancel}", guard, async (c) => {
    const v = viewerOf(c);
    await formOf(c);
    const id = c.req.param("id");
    await v.api.send("POST", `/v1/runs/${encodeURIComponent(id)}/${c.req.param("action")}`);
    return c.redirect(`/runs/${encodeURIComponent(id)}`, 303);
  });
}

/** `tenants`: the rows are of several tenants (the operator's list): a column names each, and a run opens as its tenant. */
function runTable(runs: (RunView & { tenantId?: string | null })[], pick = false, tenants?: Map<string, string>) {
  if (runs.length === 0) return html`<p class="empty">No runs match.</p>`;
  const href = (x: (typeof runs)[number]) =>
    tenants && x.tenantId
      ? `/tenant?${new URLSearchParams({ id: x.tenantId, next: `/runs/${x.id}` })}`
      : `/runs/${x.id}`;
  return html`<div class="scroll" tabindex="0" role="region" aria-label="Scrollable table"><table class="runs">
<thead><tr>${pick ? html`<th scope="col"><span class="sr">Select</span></th>` : ""}<th scope="col">Run</th>${tenants ? html`<th scope="col">Tenant</th>` : ""}<th scope="col">Workflow</th><th scope="col">Status</th><th scope="col">Created</th><th scope="col">Took</th><th scope="col">Key</th></tr></thead>
<tbody>${runs.map(
    (x) => html`<tr>
${pick ? html`<td><input type="checkbox" name="run" value="${tenants && x.tenantId ? `${x.tenantId}/${x.id}` : x.id}" aria-label="Select run ${x.id}"></td>` : ""}
<td><a href="${href(x)}" title="${x.id}"><code>${shortId(x.id)}</code></a></td>
${tenants ? html`<td>${x.tenantId ? (tenants.get(x.tenantId) ?? x.tenantId) : html`<span class="muted">none</span>`}</td>` : ""}<td>${x.workflow}</td><td>${badge(x.status)}${x.status === "failed" && x.error?.message ? html`<div class="err-line">${x.error.message.slice(0, 160)}</div>` : ""}</td>
<td>${time(x.createdAt)}</td><td>${duration(x.completedAt === null ? null : x.completedAt - x.createdAt)}</td><td>${x.key ? html`<code>${x.key.slice(0, 40)}</code>` : ""}</td></tr>`,
  )}</tbody></table></div>`;
}
