import type { Hono } from "hono";
import type { Agentd } from "../app.ts";
import { ConfigError } from "../config.ts";
import { type PollingOptions, pollerLockFor, superviseTenantPolling } from "./telegram/bot-polling.ts";
import { botsOptionsFromEnv, TENANT_BOTS_PATH, telegramBots } from "./telegram/bots.ts";
import { telegramChannel } from "./telegram/index.ts";
import { describeBotError } from "./telegram/redact.ts";
import { twilioChannel, twilioClient } from "./twilio/index.ts";
import { whatsappChannel } from "./whatsapp/index.ts";

/** The channels configured in the environment, ready to mount (webhooks) and to run (polling). */
export interface ConfiguredChannels {
  /** Channel names, for the ready line and `doctor`. */
  names: string[];
  /** Webhook apps to mount on the API, outside /v1 (they authenticate by their own signatures). */
  mounts: { path: string; app: Hono }[];
  /** How many tenant bots (Telegram) are added, for the ready line. */
  tenantBots(): Promise<number>;
  /** Starts what runs in the background (long polling) until `signal` aborts. */
  run(signal: AbortSignal): void;
  close(): void;
}

/**
 * Telegram: TELEGRAM_BOT_TOKEN. With TELEGRAM_WEBHOOK_SECRET the webhook is served at
 * /channels/telegram, and with AGENTD_PUBLIC_URL too, agentd points the bot's webhook there itself
 * (setWebhook with that secret_token); without the secret the process polls.
 * Tenants' own bots are served whatever the environment (see addTenantBots).
 */
export function channelsFromEnv(app: Agentd, env: NodeJS.ProcessEnv, role: { api: boolean; worker: boolean }): ConfiguredChannels {
  const out: ConfiguredChannels = { names: [], mounts: [], tenantBots: async () => 0, run: () => {}, close: () => {} };
  addTwilio(app, env, role, out);
  addWhatsAppCloud(app, env, role, out);
  const tenantBots = addTenantBots(app, env, role, out);
  out.run = tenantBots.run;
  out.close = tenantBots.close;
  out.tenantBots = tenantBots.count;
  const token = env.TELEGRAM_BOT_TOKEN;
  if (!token) return out;
  const secret = env.TELEGRAM_WEBHOOK_SECRET;
  const log = (line: string) => process.stderr.write(`agentd: telegram: ${line}\n`);
  const tg = telegramChannel(app, {
    token, secretToken: secret ?? "", ...(env.TELEGRAM_API_ROOT ? { apiRoot: env.TELEGRAM_API_ROOT } : {}),
    onError: (e) => log(describeBotError(e, token)), log,
  });
  // Deliveries happen where turns run: every process with a worker sends through the adapter.
  if (role.worker) app.channels.register(tg.adapter);
  const hookUrl = secret && env.AGENTD_PUBLIC_URL ? `${env.AGENTD_PUBLIC_URL.replace(/\/+$/, "")}/channels/telegram` : null;
  out.names.push(secret ? `telegram (webhook ${hookUrl ?? "at /channels/telegram"})` : "telegram (long polling)");
  if (secret && role.api) out.mounts.push({ path: "/channels/telegram", app: tg.webhook });
  out.run = (signal) => {
    // Polled by the one worker holding the poller lock, like tenants' bots: a second poller would get 409s.
    tenantBots.run(signal, !secret && role.worker ? [{ id: "deployment", poll: (s) => tg.poll(s) }] : []);
    // Webhook mode: the processes serving the webhook tell Telegram where it is, as tenants' bots do when added.
    if (secret && role.api) {
      if (!hookUrl)
        log("TELEGRAM_WEBHOOK_SECRET is set but AGENTD_PUBLIC_URL is not, so Telegram is not told where to call: set AGENTD_PUBLIC_URL (the public https URL of this agentd), or call setWebhook yourself with <public URL>/channels/telegram and secret_token TELEGRAM_WEBHOOK_SECRET");
      else void tg.registerWebhook(hookUrl, signal).then((set) => set && log(`webhook set: Telegram calls ${hookUrl} with TELEGRAM_WEBHOOK_SECRET`));
    }
  };
  out.close = () => {
    tenantBots.close();
    tg.close();
  };
  return out;
}

/**
 * Tenants' own Telegram bots (added with POST /v1/channels/telegram or `agentd bots add`): always
 * on, since any tenant may add one at any time. Webhooks at /channels/telegram/<botId> (beside the
 * deployment bot's /channels/telegram); deliveries found by a resolver, so a worker started before a
 * bot was added delivers for it; polling-mode bots polled by one worker of the store (see bot-polling.ts).
 * TELEGRAM_BOTS_RESCAN_MS: how often workers look for added and removed bots (default 10 s).
 */
function addTenantBots(app: Agentd, env: NodeJS.ProcessEnv, role: { api: boolean; worker: boolean }, out: ConfiguredChannels): {
  run(signal: AbortSignal, alsoPoll?: PollingOptions["alsoPoll"]): void; close(): void; count(): Promise<number>;
} {
  const log = (line: string) => process.stderr.write(`agentd: ${line}\n`);
  const bots = telegramBots(app, { ...botsOptionsFromEnv(env), log });
  if (role.worker) app.channels.addResolver(bots.resolver);
  if (role.api) out.mounts.push({ path: TENANT_BOTS_PATH, app: bots.webhook() });
  const rescanMs = Number(env.TELEGRAM_BOTS_RESCAN_MS) > 0 ? Number(env.TELEGRAM_BOTS_RESCAN_MS) : undefined;
  return {
    run: (signal, alsoPoll = []) => {
      void superviseTenantPolling(bots, signal, { lock: role.worker ? pollerLockFor(app, log) : NEVER_POLL, ...(rescanMs ? { rescanMs } : {}), log, alsoPoll });
    },
    close: () => bots.close(),
    count: async () => (await bots.sync()).length,
  };
}

/** An API-only process never polls: it only drops cached bots that were removed. */
const NEVER_POLL = { acquire: async () => false, release: async () => {} };

/**
 * SMS and WhatsApp: TWILIO_ACCOUNT_SID + TWILIO_AUTH_TOKEN, senders TWILIO_SMS_FROM and/or
 * TWILIO_WHATSAPP_FROM, and AGENTD_PUBLIC_URL: the webhook is <AGENTD_PUBLIC_URL>/channels/twilio, the
 * exact URL Twilio signs. TWILIO_API_BASE points the client elsewhere (a stand-in in tests).
 */
function addTwilio(app: Agentd, env: NodeJS.ProcessEnv, role: { api: boolean; worker: boolean }, out: ConfiguredChannels): void {
  const sid = env.TWILIO_ACCOUNT_SID;
  const auth = env.TWILIO_AUTH_TOKEN;
  if (!sid || !auth) return;
  if (!env.AGENTD_PUBLIC_URL)
    throw new ConfigError("TWILIO_ACCOUNT_SID is set but AGENTD_PUBLIC_URL is not: set it to the public https URL of this agentd (Twilio signs the webhook URL)");
  const publicUrl = `${env.AGENTD_PUBLIC_URL.replace(/\/+$/, "")}/channels/twilio`;
  const client = twilioClient(sid, auth, env.TWILIO_API_BASE ? { apiBaseUrl: env.TWILIO_API_BASE } : {});
  const ch = twilioChannel(app, {
    accountSid: sid, authToken: auth, publicUrl, client, register: role.worker, ...(env.TWILIO_API_BASE ? { apiBaseUrl: env.TWILIO_API_BASE } : {}),
    from: { ...(env.TWILIO_SMS_FROM ? { sms: env.TWILIO_SMS_FROM } : {}), ...(env.TWILIO_WHATSAPP_FROM ? { whatsapp: env.TWILIO_WHATSAPP_FROM } : {}) },
    log: (m) => process.stderr.write(`agentd: twilio: ${m}\n`),
  });
  out.names.push(`twilio (webhook ${publicUrl})`);
  if (role.api) out.mounts.push({ path: "/channels/twilio", app: ch.webhook });
}

/**
 * WhatsApp through Meta's Cloud API: WHATSAPP_ACCESS_TOKEN (a system user's token),
 * WHATSAPP_APP_SECRET (webhooks are signed with it), WHATSAPP_PHONE_NUMBER_ID (the business number's
 * id) and WHATSAPP_VERIFY_TOKEN (what the webhook verification must present). The webhook is
 * /channels/whatsapp. WHATSAPP_API_BASE points the client elsewhere (a stand-in in tests);
 * WHATSAPP_API_VERSION pins a Graph API version.
 */
function addWhatsAppCloud(app: Agentd, env: NodeJS.ProcessEnv, role: { api: boolean; worker: boolean }, out: ConfiguredChannels): void {
  const token = env.WHATSAPP_ACCESS_TOKEN;
  if (!token) return;
  const missing = ["WHATSAPP_APP_SECRET", "WHATSAPP_PHONE_NUMBER_ID", "WHATSAPP_VERIFY_TOKEN"].filter((k) => !env[k]);
  if (missing.length)
    throw new ConfigError(`WHATSAPP_ACCESS_TOKEN is set but ${missing.join(", ")} ${missing.length > 1 ? "are" : "is"} not: the Cloud API needs the app secret (webhook signatures), the phone number id (where replies come from) and a verify token (the webhook handshake)`);
  const ch = whatsappChannel(app, {
    token, appSecret: env.WHATSAPP_APP_SECRET as string, phoneNumberId: env.WHATSAPP_PHONE_NUMBER_ID as string, verifyToken: env.WHATSAPP_VERIFY_TOKEN as string,
    register: role.worker, ...(env.WHATSAPP_API_BASE ? { apiBaseUrl: env.WHATSAPP_API_BASE } : {}), ...(env.WHATSAPP_API_VERSION ? { version: env.WHATSAPP_API_VERSION } : {}),
    log: (m) => process.stderr.write(`agentd: whatsapp: ${m}\n`),
  });
  out.names.push("whatsapp cloud api (webhook at /channels/whatsapp)");
  if (role.api) out.mounts.push({ path: "/channels/whatsapp", app: ch.webhook });
}
