import type { ChannelsConfig } from "../channels/config.ts";
import type { Env } from "./variables.ts";

/**
 * The channels' settings. A channel half configured is not wired; what it lacks is kept in
 * `incomplete`, and starting the channels is refused with it (`agentd doctor` still checks its
 * credentials): Twilio signs the webhook's public URL, and the Cloud API needs all four of its settings.
 */
export function channelsConfig(e: Env): ChannelsConfig {
  const publicUrl = e.AGENTD_PUBLIC_URL?.replace(/\/+$/, "");
  const incomplete: string[] = [];
  const out: ChannelsConfig = {
    ...(publicUrl ? { publicUrl } : {}),
    telegram: {
      ...(e.TELEGRAM_BOT_TOKEN ? { botToken: e.TELEGRAM_BOT_TOKEN } : {}),
      ...(e.TELEGRAM_WEBHOOK_SECRET ? { webhookSecret: e.TELEGRAM_WEBHOOK_SECRET } : {}),
      ...(e.TELEGRAM_API_ROOT ? { apiRoot: e.TELEGRAM_API_ROOT } : {}),
      ...(e.TELEGRAM_BOTS_RESCAN_MS ? { botsRescanMs: e.TELEGRAM_BOTS_RESCAN_MS } : {}),
    },
  };
  if (e.TWILIO_ACCOUNT_SID && e.TWILIO_AUTH_TOKEN) {
    if (!publicUrl)
      incomplete.push(
        "TWILIO_ACCOUNT_SID is set but AGENTD_PUBLIC_URL is not: set it to the public https URL of this agentd (Twilio signs the webhook URL)",
      );
    else
      out.twilio = {
        accountSid: e.TWILIO_ACCOUNT_SID,
        authToken: e.TWILIO_AUTH_TOKEN,
        ...(e.TWILIO_SMS_FROM ? { smsFrom: e.TWILIO_SMS_FROM } : {}),
        ...(e.TWILIO_WHATSAPP_FROM ? { whatsappFrom: e.TWILIO_WHATSAPP_FROM } : {}),
        ...(e.TWILIO_API_BASE ? { apiBase: e.TWILIO_API_BASE } : {}),
      };
  }
  if (e.WHATSAPP_ACCESS_TOKEN) {
    const missing = (["WHATSAPP_APP_SECRET", "WHATSAPP_PHONE_NUMBER_ID", "WHATSAPP_VERIFY_TOKEN"] as const).filter(
      (k) => !e[k],
    );
    if (missing.length)
      incomplete.push(
        `WHATSAPP_ACCESS_TOKEN is set but ${missing.join(", ")} ${missing.length > 1 ? "are" : "is"} not: the Cloud API needs the app secret (webhook signatures), the phone number id (where replies come from) and a verify token (the webhook handshake)`,
      );
    else
      out.whatsapp = {
        accessToken: e.WHATSAPP_ACCESS_TOKEN,
        appSecret: e.WHATSAPP_APP_SECRET as string,
        phoneNumberId: e.WHATSAPP_PHONE_NUMBER_ID as string,
        verifyToken: e.WHATSAPP_VERIFY_TOKEN as string,
        ...(e.WHATSAPP_API_BASE ? { apiBase: e.WHATSAPP_API_BASE } : {}),
        ...(e.WHATSAPP_API_VERSION ? { apiVersion: e.WHATSAPP_API_VERSION } : {}),
      };
  }
  return incomplete.length ? { ...out, incomplete } : out;
}
