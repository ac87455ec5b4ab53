import { html } from "hono/html";
import type { Routes } from "../routes.ts";
import { formOf } from "../forms.ts";
import { csrfField, inZone, page, time } from "../page.ts";
import { viewerOf } from "../viewer.ts";

interface Schedule {
  id: string;
  kind: string;
  prompt: string;
  at: number | null;
  cron: string | null;
  timezone: string | null;
  paused: boolean;
  next: number[];
}
interface Tick {
  tickAt: number;
  status: string;
  runId: string | null;
  reason: string | null;
  firedAt: number;
}

/** Reminders and recurring jobs: next fire times in their zone, each tick with why it was skipped, pause, resume, delete. */
export function schedulePages({ r, guard }: Routes) {
  r.get("/schedules", guard, async (c) => {
    const v = viewerOf(c);
    const { schedules } = await v.api.get<{ schedules: Schedule[] }>("/v1/schedules");
    const ticks = await Promise.all(
      schedules.map((s) =>
        s.kind === "recurring"
          ? v.api.get<{ ticks: Tick[] }>(`/v1/schedules/${s.id}/ticks`, { limit: 10 }).then((t) => t.ticks)
          : Promise.resolve([] as Tick[]),
      ),
    );
    return page(
      c,
      v,
      "Schedules and reminders",
      html`${schedules.length === 0 ? html`<p class="empty">No reminders or recurring jobs. The agent makes them when asked ("remind me at 9"), or POST /v1/schedules.</p>` : ""}
<ul class="schedules">${schedules.map((s, i) => {
        const zone = s.timezone ?? "UTC";
        return html`<li class="schedule" id="s-${s.id}">
<h2>${s.kind === "recurring" ? html`<code>${s.cron}</code> <span class="muted">(${zone})</span>` : "Reminder"} ${s.paused ? html`<span class="badge s-suspended">paused</span>` : ""}</h2>
<p class="prompt">${s.prompt}</p>
<p>Next: ${s.next.length === 0 ? html`<span class="muted">${s.paused ? "none while paused" : "none"}</span>` : s.next.slice(0, 3).map((t, j) => html`${j > 0 ? ", " : ""}${s.kind === "recurring" ? html`<time datetime="${new Date(t).toISOString()}" data-zone="${zone}">${inZone(t, zone)}</time>` : time(t)}`)}</p>
<div class="actions">
${s.kind === "recurring" ? html`<form method="post" action="/schedules/${s.id}/${s.paused ? "resume" : "pause"}">${csrfField(v)}<button type="submit">${s.paused ? "Resume" : "Pause"}</button></form>` : ""}
<form method="post" action="/schedules/${s.id}/delete">${csrfField(v)}<button type="submit" class="danger">Delete</button></form>
</div>
${
  (ticks[i] ?? []).length > 0
    ? html`<details><summary>Latest ticks</summary><div class="scroll" tabindex="0" role="region" aria-label="Scrollable table"><table><thead><tr><th scope="col">Tick</th><th scope="col">What happened</th><th scope="col">Run</th></tr></thead><tbody>
${(ticks[i] ?? []).map((t) => html`<tr><td>${time(t.tickAt)}</td><td>${t.status}${t.reason ? html`: ${t.reason}` : ""}</td><td>${t.runId ? html`<a href="/runs/${t.runId}">open</a>` : ""}</td></tr>`)}
</tbody></table></div></details>`
    : ""
}
</li>`;
      })}</ul>`,
    );
  });

  r.post("/schedules/:id/:action{pause|resume|delete}", guard, async (c) => {
    const v = viewerOf(c);
    await formOf(c);
    const id = encodeURIComponent(c.req.param("id"));
    const action = c.req.param("action");
    if (action === "delete") await v.api.send("DELETE", `/v1/schedules/${id}`);
    else await v.api.send("POST", `/v1/schedules/${id}/${action}`);
    return c.redirect("/schedules", 303);
  });
}
