import { html } from "hono/html";
import type { Routes } from "../routes.ts";
import { page, time } from "../page.ts";
import { viewerOf } from "../viewer.ts";
import { type RunView, STATUSES } from "./types.ts";

interface Health {
  ok: boolean;
  status: string;
  reasons?: string[];
  store?: string;
  model?: string;
  workers?: { live: number; inThisProcess: boolean };
  runsDue?: number;
  components?: { name: string; ok: boolean; detail?: string }[];
  version?: string;
}
interface Usage {
  today: { day: string; tokens: number; modelCalls: number };
  dailyTokenBudget: number;
  remainingToday: number | null;
  days: { day: string; tokens: number; modelCalls: number }[];
}
interface ModelAnswer {
  model: string;
  state: string;
  detail: string;
  checkedAt: number;
  latencyMs: number | null;
}
interface Worker {
  id: string;
  workflows: Record<string, string>;
  startedAt: number;
  heartbeatAt: number;
}

const HOURS = 24;
/** The chart reads the latest runs of the last day, at most this many (the label says so). */
const SAMPLE = 500;

/** The overview: runs by status per hour, failures, what waits, workers, channels, the model, tokens against the budget. */
export function overviewPages({ r, guard, app }: Routes) {
  r.get("/", guard, async (c) => {
    const v = viewerOf(c);
    const now = app.kernel.clock.now();
    const admin = v.caller.kind === "admin";
    const [health, workers, model] = await Promise.all([
      v.api.get<Health>("/health"),
      admin ? v.api.get<{ workers: Worker[] }>("/v1/workers").then((x) => x.workers) : null,
      admin ? v.api.get<ModelAnswer>("/v1/model") : null,
    ]);
    const tenant = v.tenantId
      ? await Promise.all([
          v.api.get<{ runs: RunView[] }>("/v1/runs", { since: chartStart(now), limit: SAMPLE }),
          v.api.get<Usage>("/v1/usage", { days: 14 }),
          v.api.get<{ approvals: unknown[] }>("/v1/approvals", { limit: 500 }),
        ])
      : null;
    return page(
      c,
      v,
      "Overview",
      html`<div class="cards">
<section class="card" aria-labelledby="h-health"><h2 id="h-health">agentd</h2>
  <p>${statusWord(health.status)}${health.version ? html` · version <code>${health.version}</code>` : ""}${health.store ? html` · store ${health.store}` : ""}</p>
  ${(health.reasons ?? []).length > 0 ? html`<ul class="reasons">${health.reasons?.map((x) => html`<li>${x}</li>`)}</ul>` : ""}
  ${model ? modelLine(model) : health.model ? html`<p>Model: ${health.model}</p>` : ""}
  ${health.runsDue !== undefined ? html`<p>Runs due now (queue depth, all tenants): <strong>${health.runsDue}</strong></p>` : ""}
</section>
${workers ? workerCard(workers) : ""}
${health.components ? channelCard(health.components) : ""}
${tenant ? usageCard(tenant[1]) : ""}
${
  tenant
    ? html`<section class="card" aria-labelledby="h-wait"><h2 id="h-wait">Waiting</h2>
  <p><a href="/runs?status=pending&amp;since=24h">${waiting(tenant[0].runs, "pending")} pending runs</a> and <a href="/runs?status=suspended&amp;since=24h">${waiting(tenant[0].runs, "suspended")} suspended</a> of the last day</p>
  <p><a href="/approvals">${count(tenant[2].approvals.length, 500)} approvals</a> waiting for a person</p>
  <p><a href="/runs/failed">Failed runs</a> (dead letters)</p></section>`
    : ""
}
</div>
${tenant ? runsChart(tenant[0].runs, now) : html`<p class="empty">No tenant yet: make one on the <a href="/tenants">Tenants</a> page.</p>`}`,
    );
  });
}

const REACH: Record<string, [word: string, cls: string]> = {
  reachable: ["reachable", "s-completed"],
  builtin: ["built in", "s-completed"],
  unchecked: ["not checked", "s-suspended"],
  missing: ["model not listed", "s-failed"],
  refused: ["key refused", "s-failed"],
  unreachable: ["unreachable", "s-failed"],
};

/** The model and whether its endpoint answers (its free model list, asked at most once a minute). */
function modelLine(m: ModelAnswer) {
  const [word, cls] = REACH[m.state] ?? [m.state, "s-suspended"];
  return html`<p class="model">Model: ${m.model} <span class="badge ${cls}">${word}</span></p>
<p class="muted model-detail">${m.detail}${m.latencyMs !== null ? ` (${m.latencyMs} ms)` : ""} · checked ${time(m.checkedAt)}</p>`;
}

const count = (n: number, cap: number) => (n >= cap ? `${cap}+` : String(n));
/**
 * Counted in the chart's runs (the last day's): a list filtered by a status none of a tenant's runs
 * has reads all of them (364 ms at 100,000 on SQLite), and a run waits for a worker minutes, not days.
 */
const waiting = (runs: RunView[], status: string) => runs.filter((x) => x.status === status).length;
const statusWord = (s: string) => html`<span class="badge h-${s}">${s}</span>`;

function workerCard(workers: Worker[]) {
  return html`<section class="card" aria-labelledby="h-workers"><h2 id="h-workers">Workers (${workers.length} live)</h2>
${workers.length === 0 ? html`<p class="error">No live worker: messages are kept but not answered. Start <code>agentd start</code> or <code>agentd worker</code>.</p>` : ""}
<ul class="plain">${workers.map((w) => {
    const versions = [...new Set(Object.values(w.workflows))];
    return html`<li><code>${w.id.slice(0, 24)}</code> · ${Object.keys(w.workflows).length} workflows · version ${versions.join(", ") || "—"} · up since ${time(w.startedAt)}</li>`;
  })}</ul></section>`;
}

function channelCard(components: { name: string; ok: boolean; detail?: string }[]) {
  return html`<section class="card" aria-labelledby="h-ch"><h2 id="h-ch">Channels</h2>
${components.length === 0 ? html`<p class="muted">No channel configured (the API and this dashboard's chat still work).</p>` : ""}
<ul class="plain">${components.map((x) => html`<li>${x.ok ? html`<span class="badge s-completed">up</span>` : html`<span class="badge s-failed">down</span>`} ${x.name}${x.detail ? html` — ${x.detail}` : ""}</li>`)}</ul></section>`;
}

function usageCard(u: Usage) {
  const budget = u.dailyTokenBudget;
  const used = u.today.tokens;
  const pct = budget > 0 ? Math.min(100, Math.round((used / budget) * 100)) : 0;
  return html`<section class="card" aria-labelledby="h-tok"><h2 id="h-tok">Tokens today (UTC)</h2>
<p><strong>${used.toLocaleString("en")}</strong> tokens, ${u.today.modelCalls} model calls${budget > 0 ? html` of a daily budget of ${budget.toLocaleString("en")}` : html` (no daily budget set)`}</p>
${budget > 0 ? html`<meter min="0" max="100" value="${pct}" high="80" optimum="0" aria-label="Share of the daily token budget used">${pct}%</meter> ${pct}%` : ""}
${
  u.days.length > 1
    ? html`<p class="muted">Last ${u.days.length} days: ${u.days
        .map((d) => d.tokens)
        .reduce((a, b) => a + b, 0)
        .toLocaleString("en")} tokens.</p>`
    : ""
}</section>`;
}

/** The chart's hours are whole clock hours, the last one the current (a run of now falls in it, not past it). */
const chartStart = (now: number) => (Math.floor(now / 3_600_000) + 1 - HOURS) * 3_600_000;

/** Runs started per hour over the last day, stacked by status (SVG; a table says the same for screen readers). */
function runsChart(runs: RunView[], now: number) {
  const start = chartStart(now);
  const buckets = Array.from(
    { length: HOURS },
    () => Object.fromEntries(STATUSES.map((s) => [s, 0])) as Record<string, number>,
  );
  for (const x of runs) {
    const i = Math.min(HOURS - 1, Math.floor((x.createdAt - start) / 3_600_000));
    if (i >= 0)
      (buckets[i] as Record<string, number>)[x.status] = ((buckets[i] as Record<string, number>)[x.status] ?? 0) + 1;
  }
  const totals = buckets.map((b) => Object.values(b).reduce((a, n) => a + n, 0));
  const max = Math.max(1, ...totals);
  const W = 960;
  const H = 160;
  const bw = W / HOURS;
  const failed = runs.filter((x) => x.status === "failed").length;
  const completed = runs.filter((x) => x.status === "completed").length;
  return html`<section aria-labelledby="h-runs"><h2 id="h-runs">Runs in the last 24 hours</h2>
<p>${runs.length >= SAMPLE ? `The latest ${SAMPLE} runs` : `${runs.length} runs`}: ${completed} completed (${(completed / HOURS).toFixed(1)} an hour), <a href="/runs/failed">${failed} failed</a>.</p>
<div class="scroll" tabindex="0" role="region" aria-label="Chart, scrollable"><svg class="chart" viewBox="0 0 ${W} ${H + 20}" width="100%" role="img" aria-label="Runs started per hour over the last 24 hours, by status">
${buckets.map((b, i) => {
  let y = H;
  return STATUSES.map((s) => {
    const n = b[s] ?? 0;
    if (n === 0) return "";
    const h = (n / max) * (H - 10);
    y -= h;
    return html`<rect class="s-${s}" x="${i * bw + 2}" y="${y}" width="${bw - 4}" height="${h}"><title>${n} ${s}</title></rect>`;
  });
})}
<text class="tick" x="0" y="${H + 16}">24 h ago</text><text class="tick" x="${W}" y="${H + 16}" text-anchor="end">now</text>
</svg></div>
<p class="legend">${STATUSES.map((s) => html`<span class="key s-${s}"></span>${s} `)}</p></section>`;
}
