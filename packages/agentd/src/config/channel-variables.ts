import { z } from "zod";
import { int, url, v } from "./kinds.ts";

/** The channels' variables (Telegram, Twilio, WhatsApp's Cloud API), a part of `Env` (variables.ts). */
export const channelVariables = {
  // Telegram
  TELEGRAM_BOT_TOKEN: v(
    z
      .string()
      .regex(/^\d+:[\w-]+$/, "it must be a bot token from @BotFather (digits, a colon, then letters)")
      .optional(),
    {
      section: "telegram",
      doc: "connect the deployment's Telegram bot (long polling)",
      secret: true,
    },
  ),
  TELEGRAM_WEBHOOK_SECRET: v(
    z
      .string()
      .regex(/^[\w-]{1,256}$/, "it must be 1 to 256 letters, digits, _ or - (Telegram's rule)")
      .optional(),
    {
      section: "telegram",
      doc: "serve the webhook at /channels/telegram instead, refusing calls without this secret (registered with Telegram at start when AGENTD_PUBLIC_URL is set)",
      secret: true,
    },
  ),
  TELEGRAM_API_ROOT: v(url(["https:", "http:"], "https://api.telegram.org").optional(), {
    section: "telegram",
    doc: "another Bot API server",
    default: "https://api.telegram.org",
  }),
  TELEGRAM_BOTS_RESCAN_MS: v(int(100, 86_400_000).optional(), {
    section: "telegram",
    doc: "how often workers look for tenant bots added or removed",
    default: "10000",
  }),
  // Twilio
  TWILIO_ACCOUNT_SID: v(
    z
      .string()
      .regex(/^AC[0-9a-fA-F]{32}$/, "it must be AC followed by 32 hex digits (Twilio's console)")
      .optional(),
    {
      section: "twilio",
      doc: "with TWILIO_AUTH_TOKEN: SMS and WhatsApp through Twilio (webhook <AGENTD_PUBLIC_URL>/channels/twilio)",
    },
  ),
  TWILIO_AUTH_TOKEN: v(z.string().optional(), {
    section: "twilio",
    doc: "the account's auth token (also checks webhook signatures)",
    secret: true,
  }),
  TWILIO_SMS_FROM: v(z.string().optional(), { section: "twilio", doc: "the number SMS replies come from" }),
  TWILIO_WHATSAPP_FROM: v(z.string().optional(), {
    section: "twilio",
    doc: "the WhatsApp sender, e.g. whatsapp:+14155238886",
  }),
  TWILIO_API_BASE: v(url(["https:", "http:"], "https://api.twilio.com").optional(), {
    section: "twilio",
    doc: "another Twilio API origin (a stand-in in tests)",
  }),
  // WhatsApp's Cloud API
  WHATSAPP_ACCESS_TOKEN: v(z.string().optional(), {
    section: "whatsapp",
    doc: "a system user's token: WhatsApp through Meta's Cloud API (webhook /channels/whatsapp)",
    secret: true,
  }),
  WHATSAPP_APP_SECRET: v(z.string().optional(), {
    section: "whatsapp",
    doc: "the app secret that signs webhooks (X-Hub-Signature-256)",
    secret: true,
  }),
  WHATSAPP_PHONE_NUMBER_ID: v(
    z.string().regex(/^\d+$/, "it must be the number's id (digits), not the phone number").optional(),
    { section: "whatsapp", doc: "the business number's id" },
  ),
  WHATSAPP_VERIFY_TOKEN: v(z.string().optional(), {
    section: "whatsapp",
    doc: "what the webhook verification must present",
    secret: true,
  }),
  WHATSAPP_API_BASE: v(url(["https:", "http:"], "https://graph.facebook.com").optional(), {
    section: "whatsapp",
    doc: "another Graph API origin (a stand-in in tests)",
  }),
  WHATSAPP_API_VERSION: v(
    z
      .string()
      .regex(/^v\d+\.\d+$/, 'it must look like "v23.0"')
      .optional(),
    { section: "whatsapp", doc: "pin a Graph API version" },
  ),
};
