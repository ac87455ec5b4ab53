import type { Hono } from "hono";
import type { Agentd } from "../app.ts";
import { OsError } from "../tenancy/errors.ts";
import { telegramChannel } from "./telegram/index.ts";
import { twilioChannel, twilioClient } from "./twilio/index.ts";

/** The channels configured in the environment, ready to mount (webhooks) and to run (polling). */
export interface ConfiguredChannels {
  /** Channel names, for the ready line and `doctor`. */
  names: string[];
  /** Webhook apps to mount on the API, outside /v1 (they authenticate by their own signatures). */
  mounts: { path: string; app: Hono }[];
  /** Starts what runs in the background (long polling) until `signal` aborts. */
  run(signal: AbortSignal): void;
  close(): void;
}

/**
 * Telegram: TELEGRAM_BOT_TOKEN. With TELEGRAM_WEBHOOK_SECRET the webhook is served at
 * /channels/telegram (point setWebhook there with that secret_token); without it the process polls.
 */
export function channelsFromEnv(app: Agentd, env: NodeJS.ProcessEnv, role: { api: boolean; worker: boolean }): ConfiguredChannels {
  const out: ConfiguredChannels = { names: [], mounts: [], run: () => {}, close: () => {} };
  addTwilio(app, env, role, out);
  const token = env.TELEGRAM_BOT_TOKEN;
  if (!token) return out;
  const secret = env.TELEGRAM_WEBHOOK_SECRET;
  const tg = telegramChannel(app, {
    token, secretToken: secret ?? "", ...(env.TELEGRAM_API_ROOT ? { apiRoot: env.TELEGRAM_API_ROOT } : {}),
    onError: (e) => process.stderr.write(`agentd: telegram: ${e instanceof Error ? e.message : String(e)}\n`),
  });
  // Deliveries happen where turns run: every process with a worker sends through the adapter.
  if (role.worker) app.channels.register(tg.adapter);
  out.names.push(secret ? "telegram (webhook at /channels/telegram)" : "telegram (long polling)");
  if (secret && role.api) out.mounts.push({ path: "/channels/telegram", app: tg.webhook });
  out.run = (signal) => {
    if (!secret && role.worker) void tg.poll(signal);
  };
  out.close = () => tg.close();
  return out;
}

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
    throw new OsError(400, "config", "TWILIO_ACCOUNT_SID is set but AGENTD_PUBLIC_URL is not: set it to the public https URL of this agentd (Twilio signs the webhook URL)");
  const publicUrl = `${env.AGENTD_PUBLIC_URL.replace(/\/+$/, "")}/channels/twilio`;
  const client = twilioClient(sid, auth, env.TWILIO_API_BASE ? { apiBaseUrl: env.TWILIO_API_BASE } : {});
  const ch = twilioChannel(app, {
    accountSid: sid, authToken: auth, publicUrl, client, register: role.worker,
    from: { ...(env.TWILIO_SMS_FROM ? { sms: env.TWILIO_SMS_FROM } : {}), ...(env.TWILIO_WHATSAPP_FROM ? { whatsapp: env.TWILIO_WHATSAPP_FROM } : {}) },
    log: (m) => process.stderr.write(`agentd: twilio: ${m}\n`),
  });
  out.names.push(`twilio (webhook ${publicUrl})`);
  if (role.api) out.mounts.push({ path: "/channels/twilio", app: ch.webhook });
}
