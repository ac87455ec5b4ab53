import type { Context } from "hono";
import { html } from "hono/html";
import { badge, csrfField, duration, json, page, shortId, time } from "../page.ts";
import type { Viewer } from "../viewer.ts";
import { ENDED, type EntryView, type RunView } from "./types.ts";

/** One run: what it is, its steps as a timeline, its input and output (redacted by the API), its live stream. */
export async function runPage(c: Context, v: Viewer, id: string, now: number) {
  const path = `/v1/runs/${encodeURIComponent(id)}`;
  const run = await v.api.get<RunView>(path);
  const { journal } = await v.api.get<{ journal: EntryView[] }>(`${path}/journal`);
  const ended = ENDED.has(run.status);
  const end = run.completedAt ?? now;
  return page(
    c,
    v,
    `Run ${shortId(run.id)}`,
    html`<section class="run-head" aria-label="Summary">
<dl class="facts">
  <div><dt>Status</dt><dd>${badge(run.status)}</dd></div>
  <div><dt>Workflow</dt><dd>${run.workflow}</dd></div>
  <div><dt>Id</dt><dd><code>${run.id}</code></dd></div>
  ${run.key ? html`<div><dt>Key</dt><dd><code>${run.key}</code></dd></div>` : ""}
  <div><dt>Created</dt><dd>${time(run.createdAt)}</dd></div>
  <div><dt>Took</dt><dd>${ended ? duration(end - run.createdAt) : html`running for ${duration(now - run.createdAt)}`}</dd></div>
  ${run.parentId ? html`<div><dt>Parent</dt><dd><a href="/runs/${run.parentId}"><code>${shortId(run.parentId)}</code></a></dd></div>` : ""}
  ${run.waiting ? html`<div><dt>Waiting for</dt><dd>${[...run.waiting.events.map((e) => `event ${e}`), ...run.waiting.children.map((x) => `child ${shortId(x)}`)].join(", ") || "—"}</dd></div>` : ""}
  ${run.wakeAt ? html`<div><dt>Wakes</dt><dd>${time(run.wakeAt)}</dd></div>` : ""}
</dl>
<div class="actions">
  ${run.status === "failed" || run.status === "cancelled" ? html`<form method="post" action="/runs/${run.id}/retry">${csrfField(v)}<button type="submit">Retry</button></form>` : ""}
  ${ended ? "" : html`<form method="post" action="/runs/${run.id}/cancel">${csrfField(v)}<button type="submit" class="danger">Cancel</button></form>`}
</div>
</section>
${run.error ? html`<section aria-label="Error"><h2>Error</h2><p class="error">${run.error.code ? html`<code>${run.error.code}</code> ` : ""}${run.error.message ?? run.error.name ?? "failed"}</p></section>` : ""}
<section aria-labelledby="tl"><h2 id="tl">Timeline</h2>${timeline(journal, run.createdAt, end, now)}</section>
<section aria-labelledby="live-h" class="live" data-run="${run.id}" data-ended="${ended ? "1" : "0"}"><h2 id="live-h">Live stream</h2>
<p class="muted live-state" aria-live="polite">${ended ? "The run has ended; its stream is replayed below." : "Connecting…"}</p>
<pre class="stream" tabindex="0" aria-label="Stream output"></pre><ol class="stream-events"></ol></section>
<section class="io" aria-label="Input and output"><div><h2>Input</h2>${json(run.input)}</div><div><h2>Output</h2>${json(run.output)}</div></section>
<section aria-labelledby="steps"><h2 id="steps">Steps</h2>${steps(journal, now)}</section>`,
  );
}

const ROW = 26;
const LABEL = 210;
const WIDTH = 1000;

/**
 * Each journal entry as a bar from its start to its end (or now): steps, sleeps, waits for events
 * and approvals, child runs. SVG sizes are attributes, so the CSP needs no inline styles.
 */
export function timeline(journal: EntryView[], start: number, end: number, now: number) {
  const shown = journal.filter(
    (e) => e.kind === "step" || e.kind === "sleep" || e.kind === "event" || e.kind === "invoke",
  );
  if (shown.length === 0) return html`<p class="empty">No steps yet.</p>`;
  const t0 = Math.min(start, ...shown.map((e) => e.startedAt));
  const t1 = Math.max(end, t0 + 1, ...shown.map((e) => stop(e, now)));
  const span = t1 - t0;
  const x = (t: number) => LABEL + ((t - t0) / span) * (WIDTH - LABEL - 10);
  const height = shown.length * ROW + 24;
  return html`<div class="scroll" tabindex="0" role="region" aria-label="Timeline, scrollable"><svg class="timeline" viewBox="0 0 ${WIDTH} ${height}" width="100%" role="img" aria-label="Timeline of ${shown.length} steps over ${duration(span)}; the Steps table below has the same data">
<line class="axis" x1="${LABEL}" y1="${height - 18}" x2="${WIDTH - 10}" y2="${height - 18}"></line>
<text class="tick" x="${LABEL}" y="${height - 4}">0</text><text class="tick" x="${WIDTH - 10}" y="${height - 4}" text-anchor="end">${duration(span)}</text>
${shown.map((e, i) => {
  const y = i * ROW + 4;
  const a = x(e.startedAt);
  const w = Math.max(3, x(stop(e, now)) - a);
  const label = `${e.kind === "step" ? "" : `${e.kind} `}${e.name}`;
  const tip = `${label}: ${e.status}, ${duration(stop(e, now) - e.startedAt)}${e.attempt > 1 ? `, ${e.attempt} attempts` : ""}${e.error?.message ? ` — ${failedAttempt(e)} failed: ${e.error.message}` : ""}`;
  return html`<g class="bar k-${e.kind} s-${e.status}"><title>${tip}</title>
<text class="label" x="${LABEL - 6}" y="${y + 15}" text-anchor="end">${label.length > 28 ? `${label.slice(0, 27)}…` : label}</text>
<rect x="${a}" y="${y}" width="${w}" height="${ROW - 8}" rx="3"></rect>
${e.attempt > 1 ? html`<text class="attempts" x="${a + w + 4}" y="${y + 14}">×${e.attempt}</text>` : ""}</g>`;
})}
</svg></div>
<p class="legend"><span class="key k-step"></span>step <span class="key k-sleep"></span>sleep <span class="key k-event"></span>wait for an event or approval <span class="key k-invoke"></span>child run <span class="key s-failed"></span>failed</p>`;
}

const stop = (e: EntryView, now: number) =>
  e.status === "completed" || e.status === "failed"
    ? e.updatedAt
    : e.kind === "sleep" && e.wakeAt
      ? Math.min(e.wakeAt, now)
      : now;

function steps(journal: EntryView[], now: number) {
  if (journal.length === 0) return html`<p class="empty">No journal entries yet.</p>`;
  return html`<div class="scroll" tabindex="0" role="region" aria-label="Scrollable table"><table>
<thead><tr><th scope="col">#</th><th scope="col">Kind</th><th scope="col">Name</th><th scope="col">Status</th><th scope="col">Attempts</th><th scope="col">Started</th><th scope="col">Took</th><th scope="col">Detail</th></tr></thead>
<tbody>${journal.map(
    (
      e,
    ) => html`<tr><td>${e.seq}</td><td>${e.kind}</td><td>${e.name}</td><td>${badge(e.status)}</td><td>${e.attempt}</td><td>${time(e.startedAt)}</td>
<td>${duration(stop(e, now) - e.startedAt)}</td>
<td>${e.kind === "invoke" && e.ref ? html`child <a href="/runs/${e.ref}"><code>${shortId(e.ref)}</code></a> ` : ""}${e.kind === "sleep" && e.wakeAt ? html`until ${time(e.wakeAt)} ` : ""}${failure(e)}</td></tr>`,
  )}</tbody></table></div>`;
}

/**
 * The journal keeps a step's attempt count and its last failed attempt's error (not each attempt's):
 * a step that completed after failures shows the attempt before the one that succeeded.
 */
const failedAttempt = (e: EntryView) => `attempt ${e.status === "completed" ? e.attempt - 1 : e.attempt}`;

function failure(e: EntryView) {
  if (!e.error?.message) return "";
  const retry = e.status === "retrying" && e.wakeAt ? html`; next attempt ${time(e.wakeAt)}` : "";
  return html`<span class="err-line">${failedAttempt(e)} failed: ${e.error.message.slice(0, 300)}${retry}</span>`;
}
