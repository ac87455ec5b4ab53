import assert from "node:assert/strict";
import { type TelegramOptions, telegramChannel } from "../../src/channels/telegram/index.ts";
import { sessions } from "../../src/sessions/store.ts";
import { testAgentd } from "./app.ts";
import { startSite } from "./browser-site.ts";
import type { Backend } from "./backends.ts";
import { startTelegramServer, type TelegramServer } from "./telegram-server.ts";
import { type TelegramUser, textUpdate } from "./telegram-updates.ts";

export const WEBHOOK_SECRET = "hook-secret-123";

/**
 * A test's agentd with the deployment's Telegram bot wired to a fresh Bot API stand-in; `post` sends
 * an update to the webhook as Telegram does (with the secret unless another, or null, is given).
 */
export async function telegramRig(
  t: { after(fn: () => unknown): void },
  b: Backend,
  opts: Parameters<typeof testAgentd>[2] & {
    server?: Parameters<typeof startTelegramServer>[0];
    channel?: Partial<TelegramOptions>;
  } = {},
) {
  const tg: TelegramServer = await startTelegramServer(opts.server);
  t.after(() => tg.close());
  const env = await testAgentd(t, b, opts);
  const ch = telegramChannel(env.app.channelHost, {
    token: tg.token,
    secretToken: WEBHOOK_SECRET,
    apiRoot: tg.apiRoot,
    ...opts.channel,
  });
  env.app.channels.register(ch.adapter);
  t.after(() => ch.close());
  const post = (update: object, secret: string | null = WEBHOOK_SECRET) =>
    ch.webhook.request("/", {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(secret === null ? {} : { "x-telegram-bot-api-secret-token": secret }),
      },
      body: JSON.stringify(update),
    });
  return { ...env, tg, ch, post };
}

/** The sendMessage calls the stand-in received for one chat, in order. */
export const sentTo = (tg: TelegramServer, chatId: number | string) =>
  tg.callsOf("sendMessage").filter((c) => String(c.params.chat_id) === String(chatId));

/** `telegramRig` plus `pair`: a user sends /start with a fresh pairing code of the tenant (the test's own by default). */
export async function pairingTelegramRig(
  t: { after(fn: () => unknown): void },
  b: Backend,
  opts: Parameters<typeof telegramRig>[2] = {},
) {
  const env = await telegramRig(t, b, opts);
  const { post } = env;
  const pair = async (user: TelegramUser, tenantId = env.tenantId) => {
    const { code } = await env.app.tenants.createPairingCode(tenantId);
    assert.equal((await post(textUpdate(user, `/start ${code}`))).status, 200);
  };
  return { ...env, pair };
}

/** `pairingTelegramRig` with the browser test site served on 127.0.0.1, allowed as an operator allows a host. */
export async function browsingTelegramRig(t: { after(fn: () => unknown): void }, b: Backend) {
  const site = await startSite();
  t.after(() => site.close());
  const env = await pairingTelegramRig(t, b, { config: { net: { allowPrivate: false, allowHosts: [site.host] } } });
  return { ...env, site };
}

/** The user messages of the tenant's latest session (none when it has no session). */
export const userMessages = async (app: Awaited<ReturnType<typeof testAgentd>>["app"], tenantId: string) => {
  const scope = app.tenants.scope(tenantId);
  const s = await sessions.latest(scope);
  return s ? (await sessions.history(scope, s.id)).filter((m) => m.role === "user") : [];
};
