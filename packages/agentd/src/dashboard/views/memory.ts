import { html } from "hono/html";
import type { Routes } from "../routes.ts";
import { formOf } from "../forms.ts";
import { csrfField, page, time } from "../page.ts";
import { viewerOf } from "../viewer.ts";

interface Memory {
  id: string;
  content: string;
  source: string;
  dueAt: number | null;
  createdAt: number;
  score?: number;
}

/** The tenant's long-term memory: browse (newest first, paged), search, delete. */
export function memoryPages({ r, guard }: Routes) {
  r.get("/memory", guard, async (c) => {
    const v = viewerOf(c);
    if (!v.tenantId) return page(c, v, "Memory", html`<p class="empty">No tenant yet.</p>`);
    const q = (c.req.query("q") ?? "").trim();
    const before = c.req.query("before");
    const { memories } = await v.api.get<{ memories: Memory[] }>("/v1/memory", { q, before, limit: 50 });
    const last = memories.at(-1);
    return page(
      c,
      v,
      "Memory",
      html`<form method="get" action="/memory" role="search" class="filters"><label>Search <input name="q" value="${q}" size="30"></label><button type="submit">Search</button>${q ? html` <a href="/memory">All</a>` : ""}</form>
${memories.length === 0 ? html`<p class="empty">${q ? "Nothing found." : "Nothing remembered yet."}</p>` : ""}
<ul class="memories">${memories.map(
        (
          m,
        ) => html`<li><p>${m.content}</p><p class="muted">${m.source} · ${time(m.createdAt)}${m.dueAt ? html` · due ${time(m.dueAt)}` : ""}${m.score !== undefined ? ` · relevance ${m.score.toFixed(2)}` : ""}</p>
<form method="post" action="/memory/${m.id}/delete">${csrfField(v)}<button type="submit" class="danger" aria-label="Delete this memory">Delete</button></form></li>`,
      )}</ul>
${!q && last && memories.length === 50 ? html`<nav class="pager"><a href="/memory?before=${last.id}">Older →</a></nav>` : ""}`,
    );
  });

  r.post("/memory/:id/delete", guard, async (c) => {
    const v = viewerOf(c);
    await formOf(c);
    await v.api.send("DELETE", `/v1/memory/${encodeURIComponent(c.req.param("id"))}`);
    return c.redirect("/memory", 303);
  });
}
