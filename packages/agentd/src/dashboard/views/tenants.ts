import { html } from "hono/html";
import type { Routes } from "../routes.ts";
import { formOf, one } from "../forms.ts";
import { csrfField, page, time } from "../page.ts";
import { viewerOf } from "../viewer.ts";
import { oneTenantPages, type Tenant, tenantPage } from "./tenant.ts";

/** The operator's tenants: the list, a new one, and each one's page (tenant.ts). */
export function tenantPages(routes: Routes) {
  const { r, guard } = routes;
  r.get("/tenants", guard, async (c) => {
    const v = viewerOf(c);
    const { tenants } = await v.api.get<{ tenants: Tenant[] }>("/v1/tenants", { limit: 500 });
    return page(
      c,
      v,
      "Tenants",
      html`<div class="scroll" tabindex="0" role="region" aria-label="Scrollable table"><table><thead><tr><th scope="col">Name</th><th scope="col">Id</th><th scope="col">Zone</th><th scope="col">Created</th></tr></thead>
<tbody>${tenants.map((t) => html`<tr><td><a href="/tenants/${t.id}">${t.name}</a></td><td><code>${t.id}</code></td><td>${String(t.settings.timezone ?? "")}</td><td>${time(t.createdAt)}</td></tr>`)}</tbody></table></div>
<form method="post" action="/tenants/new" class="inline">${csrfField(v)}<label>New tenant <input name="name" required maxlength="200"></label><button type="submit">Create</button></form>`,
    );
  });

  r.post("/tenants/new", guard, async (c) => {
    const v = viewerOf(c);
    const form = await formOf(c);
    const made = await v.api.send<{ tenant: Tenant; apiKey: string }>("POST", "/v1/tenants", { name: one(form.name) });
    return tenantPage(c, made.tenant.id, `Tenant made. Its first API key, shown once: ${made.apiKey}`);
  });
  oneTenantPages(routes);
}
