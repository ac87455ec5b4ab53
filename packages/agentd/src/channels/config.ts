/**
 * Which channels run and how, as `createAgentd` wires them (config.ts reads it from the environment's
 * TELEGRAM_*, TWILIO_*, WHATSAPP_* and AGENTD_PUBLIC_URL; a program may give it directly).
 */
export interface ChannelsConfig {
  /** AGENTD_PUBLIC_URL, without a trailing slash: where providers call this agentd's webhooks. */
  publicUrl?: string;
  /** The deployment's own bot (with a token) and tenants' own bots (always served). */
  telegram: TelegramConfig;
  /** SMS and WhatsApp through Twilio: set when TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are. */
  twilio?: TwilioConfig;
  /** WhatsApp through Meta's Cloud API: set when WHATSAPP_ACCESS_TOKEN is. */
  whatsapp?: WhatsAppConfig;
  /** Channels named but not fully configured, one sentence each (what is missing, what to set): starting the channels is refused with them. */
  incomplete?: string[];
}

export interface TelegramConfig {
  /** TELEGRAM_BOT_TOKEN: the deployment's bot; none, and only tenants' bots are served. */
  botToken?: string;
  /** TELEGRAM_WEBHOOK_SECRET: the deployment's bot takes webhooks at /channels/telegram instead of polling. */
  webhookSecret?: string;
  /** TELEGRAM_API_ROOT: another Bot API server (a stand-in in tests), for every bot. */
  apiRoot?: string;
  /** TELEGRAM_BOTS_RESCAN_MS: how often workers look for tenant bots added or removed (default 10 s). */
  botsRescanMs?: number;
}

export interface TwilioConfig {
  accountSid: string;
  authToken: string;
  smsFrom?: string;
  whatsappFrom?: string;
  /** TWILIO_API_BASE: another API origin (a stand-in in tests); media URLs are fetched there too. */
  apiBase?: string;
}

export interface WhatsAppConfig {
  accessToken: string;
  appSecret: string;
  phoneNumberId: string;
  verifyToken: string;
  /** WHATSAPP_API_BASE: another Graph API origin (a stand-in in tests). */
  apiBase?: string;
  /** WHATSAPP_API_VERSION: a pinned Graph API version. */
  apiVersion?: string;
}
