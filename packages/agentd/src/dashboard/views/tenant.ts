import type { Context } from "hono";
import { html } from "hono/html";
import type { Routes } from "../routes.ts";
import { ApiAnswerError } from "../api.ts";
import { formOf, one } from "../forms.ts";
import { csrfField, page, time } from "../page.ts";
import { type DashEnv, viewerOf } from "../viewer.ts";

export interface Tenant {
  id: string;
  name: string;
  settings: Record<string, unknown>;
  createdAt: number;
}
interface Key {
  id: string;
  prefix: string;
  createdAt: number;
  revokedAt: number | null;
}
interface Identity {
  channel: string;
  externalId: string;
  display: string | null;
  createdAt: number;
}
interface Bot {
  id: string;
  username: string;
  mode: string;
  webhookUrl?: string;
  createdAt: number;
}

interface Usage {
  today: { tokens: number; modelCalls: number };
  dailyTokenBudget: number;
  days: { day: string; tokens: number; modelCalls: number }[];
}

/** Tokens and model calls per UTC day (the last 14 with any), against the daily budget. */
function usageSection(u: Usage) {
  const budget =
    u.dailyTokenBudget > 0 ? `a daily budget of ${u.dailyTokenBudget.toLocaleString("en")}` : "no daily budget";
  return html`<section aria-labelledby="h-usage"><h2 id="h-usage">Usage</h2>
<p>Today (UTC): ${u.today.tokens.toLocaleString("en")} tokens in ${u.today.modelCalls} model calls, ${budget}.</p>
${
  u.days.length === 0
    ? html`<p class="muted">No model call yet.</p>`
    : html`<div class="scroll" tabindex="0" role="region" aria-label="Usage per day"><table class="usage"><thead><tr><th scope="col">Day (UTC)</th><th scope="col">Tokens</th><th scope="col">Model calls</th></tr></thead>
<tbody>${u.days.map((d) => html`<tr><td>${d.day}</td><td>${d.tokens.toLocaleString("en")}</td><td>${d.modelCalls}</td></tr>`)}</tbody></table></div>`
}</section>`;
}

const ACTIONS = "settings|key|pairing|revoke|bind|unbind|bot|unbot";

/** One tenant, as the operator keeps it: API keys, identities (bind, unbind), pairing codes, its own bots, settings. */
export function oneTenantPages({ r, guard }: Routes) {
  r.get("/tenants/:id", guard, (c) => tenantPage(c, c.req.param("id")));

  r.post(`/tenants/:id/:action{${ACTIONS}}`, guard, async (c) => {
    const v = viewerOf(c);
    const form = await formOf(c);
    const tenantId = c.req.param("id");
    const id = encodeURIComponent(tenantId);
    const done = (notice: string, bad = false) => tenantPage(c, tenantId, notice, bad);
    try {
      switch (c.req.param("action")) {
        case "key": {
          const k = await v.api.send<{ key: string }>("POST", `/v1/tenants/${id}/keys`);
          return done(`New API key, shown once: ${k.key}`);
        }
        case "revoke":
          await v.api.send("DELETE", `/v1/tenants/${id}/keys/${encodeURIComponent(one(form.key))}`);
          return done("Key revoked.");
        case "pairing": {
          const p = await v.api.send<{ code: string }>("POST", `/v1/tenants/${id}/pairing-codes`, {});
          return done(`Pairing code ${p.code} (send /start ${p.code} to the bot); it expires in 24 hours.`);
        }
        case "bind": {
          const display = one(form.display).trim();
          await v.api.send("POST", `/v1/tenants/${id}/identities`, {
            channel: one(form.channel).trim(),
            externalId: one(form.externalId).trim(),
            ...(display ? { display } : {}),
            ...(one(form.force) === "1" ? { force: true } : {}),
          });
          return done(`Bound ${one(form.channel).trim()}: ${one(form.externalId).trim()}.`);
        }
        case "unbind":
          await v.api.send(
            "DELETE",
            `/v1/tenants/${id}/identities/${encodeURIComponent(one(form.channel))}/${encodeURIComponent(one(form.externalId))}`,
          );
          return done(`Unbound ${one(form.channel)}: ${one(form.externalId)}; their next message is a stranger's.`);
        case "bot": {
          const mode = one(form.mode);
          const bot = await v.apiFor(tenantId).send<Bot>("POST", "/v1/channels/telegram", {
            token: one(form.token),
            ...(mode === "webhook" || mode === "polling" ? { mode } : {}),
          });
          return done(`Bot @${bot.username} added (${bot.mode}); its token is in the tenant's vault.`);
        }
        case "unbot":
          await v.apiFor(tenantId).send("DELETE", `/v1/channels/telegram/${encodeURIComponent(one(form.bot))}`);
          return done("Bot removed, with the identities paired through it.");
      }
      let settings: unknown;
      try {
        settings = JSON.parse(one(form.settings));
      } catch {
        return done("The settings must be JSON (an object).", true);
      }
      await v.api.send("PATCH", `/v1/tenants/${id}`, { settings });
      return done("Settings saved.");
    } catch (e) {
      // A refusal the person can act on (a bad field, an identity bound elsewhere, a wrong token) is shown on the page.
      if (e instanceof ApiAnswerError && (e.status === 400 || e.status === 409 || e.status === 502))
        return done(e.message, true);
      throw e;
    }
  });
}

export async function tenantPage(c: Context<DashEnv>, id: string, notice?: string, bad = false) {
  const v = viewerOf(c);
  const t = encodeURIComponent(id);
  const tenant = await v.api.get<Tenant>(`/v1/tenants/${t}`);
  const [{ keys }, { identities }, usage, bots] = await Promise.all([
    v.api.get<{ keys: Key[] }>(`/v1/tenants/${t}/keys`),
    v.api.get<{ identities: Identity[] }>(`/v1/tenants/${t}/identities`),
    v.apiFor(tenant.id).get<Usage>("/v1/usage", { days: 14 }),
    v
      .apiFor(tenant.id)
      .get<{ bots: Bot[] }>("/v1/channels/telegram")
      .then((x) => x.bots)
      .catch((e: unknown) => (e instanceof ApiAnswerError ? e.message : Promise.reject(e))),
  ]);
  const act = (what: string) => `/tenants/${tenant.id}/${what}`;
  return page(
    c,
    v,
    `Tenant ${tenant.name}`,
    html`${notice ? html`<p class="${bad ? "error" : "notice"}" role="${bad ? "alert" : "status"}">${notice}</p>` : ""}
<p class="muted"><code>${tenant.id}</code> · created ${time(tenant.createdAt)}</p>
<section aria-labelledby="h-keys"><h2 id="h-keys">API keys</h2><ul class="plain">${keys.map(
      (k) =>
        html`<li><code>${k.prefix}…</code> made ${time(k.createdAt)} ${k.revokedAt ? html`· revoked ${time(k.revokedAt)}` : html`<form method="post" action="${act("revoke")}" class="inline">${csrfField(v)}<input type="hidden" name="key" value="${k.id}"><button type="submit" class="danger">Revoke</button></form>`}</li>`,
    )}</ul>
<form method="post" action="${act("key")}">${csrfField(v)}<button type="submit">New API key</button></form></section>
<section aria-labelledby="h-ids"><h2 id="h-ids">Identities</h2>
${
  identities.length === 0
    ? html`<p class="muted">No identity bound yet: give the person a pairing code, or bind one below.</p>`
    : html`<ul class="plain identities">${identities.map(
        (i) =>
          html`<li>${i.channel}: <code>${i.externalId}</code> ${i.display ?? ""} <span class="muted">since ${time(i.createdAt)}</span>
<form method="post" action="${act("unbind")}" class="inline">${csrfField(v)}<input type="hidden" name="channel" value="${i.channel}"><input type="hidden" name="externalId" value="${i.externalId}"><button type="submit" class="danger" aria-label="Unbind ${i.channel} ${i.externalId}">Unbind</button></form></li>`,
      )}</ul>`
}
<form method="post" action="${act("bind")}" class="filters" aria-label="Bind an identity">${csrfField(v)}
<label>Channel <input name="channel" required maxlength="32" placeholder="telegram" size="10"></label>
<label>Id on that channel <input name="externalId" required maxlength="200" placeholder="chat or phone number" size="16"></label>
<label>Name <input name="display" maxlength="200" size="12"></label>
<label><input type="checkbox" name="force" value="1"> move it from another tenant</label>
<button type="submit">Bind</button></form>
<form method="post" action="${act("pairing")}">${csrfField(v)}<button type="submit">New pairing code</button></form></section>
<section aria-labelledby="h-bots"><h2 id="h-bots">Telegram bots of this tenant</h2>
${
  typeof bots === "string"
    ? html`<p class="error">${bots}</p>`
    : html`${bots.length === 0 ? html`<p class="muted">None: the tenant's people use the deployment's bot, if there is one.</p>` : ""}
<ul class="plain bots">${bots.map(
        (b) =>
          html`<li>@${b.username} · ${b.mode}${b.webhookUrl ? html` · <code>${b.webhookUrl}</code>` : ""} · added ${time(b.createdAt)}
<form method="post" action="${act("unbot")}" class="inline">${csrfField(v)}<input type="hidden" name="bot" value="${b.id}"><button type="submit" class="danger" aria-label="Remove bot @${b.username}">Remove</button></form></li>`,
      )}</ul>
<form method="post" action="${act("bot")}" class="filters" aria-label="Add a Telegram bot">${csrfField(v)}
<label>Token from BotFather <input name="token" type="password" required maxlength="300" autocomplete="off" size="24"></label>
<label>Mode <select name="mode"><option value="">default</option><option value="webhook">webhook</option><option value="polling">polling</option></select></label>
<button type="submit">Add bot</button></form>`
}</section>
<section aria-labelledby="h-settings"><h2 id="h-settings">Settings</h2><form method="post" action="${act("settings")}">${csrfField(v)}
<label for="settings" class="sr">Settings (JSON)</label><textarea id="settings" name="settings" rows="14" class="code">${JSON.stringify(tenant.settings, null, 2)}</textarea>
<button type="submit">Save settings</button> <span class="muted">Checked by the API: a wrong field is refused with the reason.</span></form></section>
${usageSection(usage)}
<p>Runs of this tenant: pick it in “Acting for” above.</p>`,
  );
}
