import { html } from "hono/html";
import type { Routes } from "../routes.ts";
import { formOf, one } from "../forms.ts";
import { csrfField, page, shortId, time } from "../page.ts";
import { viewerOf } from "../viewer.ts";

interface Approval {
  id: string;
  runId: string;
  tool: string;
  subject: string;
  code: string;
  status: string;
  createdAt: number;
  expiresAt: number;
  decidedAt: number | null;
  decidedBy: string | null;
}

const DECISIONS = new Set(["once", "always", "deny"]);

/** Tool calls waiting for a person: approve once, always (this tool and subject), or deny, each bound to its call. */
export function approvalPages({ r, guard }: Routes) {
  r.get("/approvals", guard, async (c) => {
    const v = viewerOf(c);
    const [pending, recent] = await Promise.all([
      v.api.get<{ approvals: Approval[] }>("/v1/approvals", { status: "pending" }),
      v.api.get<{ approvals: Approval[] }>("/v1/approvals", { status: "all", limit: 20 }),
    ]);
    const decided = recent.approvals.filter((a) => a.status !== "pending");
    return page(
      c,
      v,
      "Approvals",
      html`${pending.approvals.length === 0 ? html`<p class="empty">Nothing waits for a decision.</p>` : ""}
<ul class="approvals">${pending.approvals.map(
        (a) => html`<li class="approval" id="a-${a.id}">
<p><strong>${a.tool}</strong> wants <code class="subject">${a.subject}</code></p>
<p class="muted">Run <a href="/runs/${a.runId}"><code>${shortId(a.runId)}</code></a> · asked ${time(a.createdAt)} · expires ${time(a.expiresAt)} · code ${a.code}</p>
<form method="post" action="/approvals/${a.id}" class="decide">${csrfField(v)}
<button type="submit" name="decision" value="once">Approve once</button>
<button type="submit" name="decision" value="always">Always allow</button>
<button type="submit" name="decision" value="deny" class="danger">Deny</button>
</form></li>`,
      )}</ul>
${
  decided.length > 0
    ? html`<h2>Decided lately</h2><div class="scroll" tabindex="0" role="region" aria-label="Scrollable table"><table><thead><tr><th scope="col">Tool</th><th scope="col">Subject</th><th scope="col">Decision</th><th scope="col">By</th><th scope="col">When</th></tr></thead>
<tbody>${decided.map((a) => html`<tr><td>${a.tool}</td><td><code>${a.subject.slice(0, 120)}</code></td><td>${a.status}</td><td>${a.decidedBy ?? ""}</td><td>${time(a.decidedAt)}</td></tr>`)}</tbody></table></div>`
    : ""
}`,
    );
  });

  r.post("/approvals/:id", guard, async (c) => {
    const v = viewerOf(c);
    const form = await formOf(c);
    const decision = one(form.decision);
    if (!DECISIONS.has(decision)) return c.text("decision must be once, always or deny", 400);
    await v.api.send("POST", `/v1/approvals/${encodeURIComponent(c.req.param("id"))}`, { decision });
    return c.redirect("/approvals", 303);
  });
}
