import type { Hono } from "hono";
import { ConfigError } from "../config.ts";
import type { ChannelsConfig } from "./config.ts";
import type { ChannelHost } from "./ports.ts";
import { deliveryHealth } from "./delivery-health.ts";
import { type PollingOptions, pollerLockFor, superviseTenantPolling } from "./telegram/bot-polling.ts";
import { type BotsHost, TENANT_BOTS_PATH, TelegramBots } from "./telegram/bots.ts";

/** The channels of a configuration, ready to mount (webhooks) and to run (polling). */
export interface ConfiguredChannels {
  /** Channel names, for the ready line and `doctor`. */
  names: string[];
  /** Webhook apps to mount on the API, outside /v1 (they authenticate by their own signatures). */
  mounts: { path: string; app: Hono }[];
  /** Tenants' own Telegram bots: the API's /v1/channels/telegram and `agentd bots` add and remove them here. */
  telegramBots: TelegramBots;
  /** How many tenant bots (Telegram) are added, for the ready line. */
  tenantBots(): Promise<number>;
  /** Starts what runs in the background (long polling, rescans, setWebhook) until `signal` aborts; a ConfigError when a channel is half configured. */
  run(signal: AbortSignal): void;
  /**
   * What a function does instead of `run` (nothing may run between its invocations): tells the
   * providers where the webhooks are (the deployment bot's setWebhook), one line each for what it
   * set and for the webhooks an operator sets in a provider's console (Twilio, WhatsApp's Cloud API).
   */
  register(signal: AbortSignal): Promise<string[]>;
  close(): void;
}

/** What a process does: serves the API (webhooks are mounted, providers told where they are), executes runs (deliveries, polling). */
export interface ChannelRole {
  api: boolean;
  worker: boolean;
}

/**
 * The code of the channels a configuration names: the deployment's Telegram bot (grammY), Twilio's
 * and the Cloud API's clients are large, and a program or command without them does not load them.
 * (Tenants' own Telegram bots are always served: their code loads when the first one is used, bots.ts.)
 */
export interface ChannelModules {
  telegram?: typeof import("./telegram/index.ts") & Pick<typeof import("./telegram/redact.ts"), "describeBotError">;
  twilio?: typeof import("./twilio/index.ts");
  whatsapp?: typeof import("./whatsapp/index.ts");
}

/** Loads the modules of the channels `config` names. */
export async function loadChannelModules(config: ChannelsConfig): Promise<ChannelModules> {
  return {
    ...(config.telegram.botToken
      ? {
          telegram: {
            ...(await import("./telegram/index.ts")),
            describeBotError: (await import("./telegram/redact.ts")).describeBotError,
          },
        }
      : {}),
    ...(config.twilio ? { twilio: await import("./twilio/index.ts") } : {}),
    ...(config.whatsapp ? { whatsapp: await import("./whatsapp/index.ts") } : {}),
  };
}

export interface WireOptions {
  role: ChannelRole;
  /** What loadChannelModules loaded for this configuration. */
  modules: ChannelModules;
  /** The store, for the tenant bots' poller lock (one poller per Postgres schema). */
  store: { databaseUrl?: string | undefined; pgSchema?: string | undefined };
  /** Where channels' lines go (prefixed with "agentd: "); stderr by default. */
  log?: (line: string) => void;
}

/**
 * Builds the configured channels on the host's ports. Telegram: with a bot token, the deployment's
 * bot, by webhook at /channels/telegram when a webhook secret is set (and, with a public URL too,
 * agentd points the bot's webhook there itself: setWebhook with that secret_token), by long polling
 * otherwise. Tenants' own bots are served whatever the configuration (see addTenantBots). Twilio and
 * WhatsApp's Cloud API: webhooks at /channels/twilio and /channels/whatsapp.
 */
export function wireChannels(host: ChannelHost & BotsHost, config: ChannelsConfig, o: WireOptions): ConfiguredChannels {
  const log = o.log ?? ((line: string) => process.stderr.write(`agentd: ${line}\n`));
  const names: string[] = [];
  const mounts: { path: string; app: Hono }[] = [];
  addTwilio(host, config, o, names, mounts, log);
  addWhatsAppCloud(host, config, o, names, mounts, log);
  const tenantBots = addTenantBots(host, config, o, mounts, log);
  const out: ConfiguredChannels = {
    names,
    mounts,
    telegramBots: tenantBots.bots,
    tenantBots: tenantBots.count,
    run: (signal) => tenantBots.run(signal),
    register: async () => [],
    close: tenantBots.close,
  };
  const token = config.telegram.botToken;
  if (token) addDeploymentBot(host, config, o, out, tenantBots, log);
  const set = out.register;
  out.register = async (signal) => [...(await set(signal)), ...consoleHooks(config)];
  if (config.incomplete?.length) {
    const problems = config.incomplete.join("; ");
    out.run = () => {
      throw new ConfigError(problems);
    };
  }
  return out;
}

/** The webhooks no API call sets: where an operator points Twilio's numbers and Meta's app, one line each. */
function consoleHooks(config: ChannelsConfig): string[] {
  const base = config.publicUrl ?? "<AGENTD_PUBLIC_URL>";
  const lines: string[] = [];
  const tw = config.twilio;
  if (tw && config.publicUrl) {
    const from = [tw.smsFrom, tw.whatsappFrom].filter(Boolean).join(" and ");
    lines.push(
      `twilio: set "A message comes in" of ${from || "your numbers"} to ${base}/channels/twilio (HTTP POST) in Twilio's console`,
    );
  }
  if (config.whatsapp)
    lines.push(
      `whatsapp: set the Meta app's WhatsApp webhook to ${base}/channels/whatsapp with WHATSAPP_VERIFY_TOKEN as its verify token, subscribed to messages`,
    );
  return lines;
}

const withHow = (how: string, s: { ok: boolean; detail: string }) => ({ ...s, detail: `${how}; ${s.detail}` });

/** The deployment's own bot (TELEGRAM_BOT_TOKEN), served by webhook or long polling. */
function addDeploymentBot(
  host: ChannelHost,
  config: ChannelsConfig,
  { role, modules }: WireOptions,
  out: ConfiguredChannels,
  tenantBots: ReturnType<typeof addTenantBots>,
  log: (line: string) => void,
): void {
  if (!modules.telegram)
    throw new Error(
      "wireChannels: a Telegram bot token is configured but its module was not loaded (loadChannelModules)",
    );
  const { telegramChannel, describeBotError } = modules.telegram;
  const { names, mounts } = out;
  const token = config.telegram.botToken as string;
  const secret = config.telegram.webhookSecret;
  const tgLog = (line: string) => log(`telegram: ${line}`);
  const hookUrl = secret && config.publicUrl ? `${config.publicUrl}/channels/telegram` : null;
  const how = secret ? `webhook ${hookUrl ?? "at /channels/telegram"}` : "long polling";
  // Its /health line says how the bot is reached before what its last Bot API call said.
  const health: ChannelHost["health"] = {
    add: (name, check) => host.health.add(name, async () => withHow(how, await check())),
  };
  const tg = telegramChannel(
    { ...host, health },
    {
      token,
      secretToken: secret ?? "",
      ...(config.telegram.apiRoot ? { apiRoot: config.telegram.apiRoot } : {}),
      onError: (e) => tgLog(describeBotError(e, token)),
      log: tgLog,
    },
  );
  // Deliveries happen where turns run: every process with a worker sends through the adapter.
  if (role.worker) host.adapters.register(tg.adapter);
  names.push(`telegram (${how})`);
  if (secret && role.api) mounts.push({ path: "/channels/telegram", app: tg.webhook });
  out.run = (signal) => {
    // Polled by the one worker holding the poller lock, like tenants' bots: a second poller would get 409s.
    tenantBots.run(signal, !secret && role.worker ? [{ id: "deployment", poll: (s) => tg.poll(s) }] : []);
    // Webhook mode: the processes serving the webhook tell Telegram where it is, as tenants' bots do when added.
    if (secret && role.api) {
      if (!hookUrl)
        tgLog(
          "TELEGRAM_WEBHOOK_SECRET is set but AGENTD_PUBLIC_URL is not, so Telegram is not told where to call: set AGENTD_PUBLIC_URL (the public https URL of this agentd), or call setWebhook yourself with <public URL>/channels/telegram and secret_token TELEGRAM_WEBHOOK_SECRET",
        );
      else
        void tg
          .registerWebhook(hookUrl, signal)
          .then((set) => set && tgLog(`webhook set: Telegram calls ${hookUrl} with TELEGRAM_WEBHOOK_SECRET`));
    }
  };
  out.register = async (signal) => {
    if (!secret || !role.api) return [];
    if (!hookUrl)
      return [
        "telegram: not told where to call: set AGENTD_PUBLIC_URL (or call setWebhook yourself with <public URL>/channels/telegram and secret_token TELEGRAM_WEBHOOK_SECRET)",
      ];
    return (await tg.registerWebhook(hookUrl, signal))
      ? [`telegram: webhook set to ${hookUrl}`]
      : [`telegram: setWebhook to ${hookUrl} did not succeed (the log says why); the next instance tries again`];
  };
  out.close = () => {
    tenantBots.close();
    tg.close();
  };
}

/**
 * Tenants' own Telegram bots (added with POST /v1/channels/telegram or `agentd bots add`): always
 * on, since any tenant may add one at any time. Webhooks at /channels/telegram/<botId> (beside the
 * deployment bot's /channels/telegram); deliveries found by a resolver, so a worker started before a
 * bot was added delivers for it; polling-mode bots polled by one worker of the store (see bot-polling.ts).
 */
function addTenantBots(
  host: BotsHost & Pick<ChannelHost, "adapters">,
  config: ChannelsConfig,
  o: WireOptions,
  mounts: ConfiguredChannels["mounts"],
  log: (line: string) => void,
): {
  bots: TelegramBots;
  run(signal: AbortSignal, alsoPoll?: PollingOptions["alsoPoll"]): void;
  close(): void;
  count(): Promise<number>;
} {
  const t = config.telegram;
  const bots = new TelegramBots(host, {
    ...(t.apiRoot ? { apiRoot: t.apiRoot } : {}),
    ...(config.publicUrl ? { publicUrl: config.publicUrl } : {}),
    ...(t.botToken ? { deploymentToken: t.botToken } : {}),
    log,
  });
  if (o.role.worker) host.adapters.addResolver(bots.resolver);
  if (o.role.api) mounts.push({ path: TENANT_BOTS_PATH, app: bots.webhook() });
  return {
    bots,
    run: (signal, alsoPoll = []) => {
      const lock = o.role.worker ? pollerLockFor(o.store, log) : NEVER_POLL;
      void superviseTenantPolling(bots, signal, {
        lock,
        ...(t.botsRescanMs ? { rescanMs: t.botsRescanMs } : {}),
        log,
        alsoPoll,
      });
    },
    close: () => bots.close(),
    count: async () => (await bots.sync()).length,
  };
}

/** An API-only process never polls: it only drops cached bots that were removed. */
const NEVER_POLL = { acquire: async () => false, release: async () => {} };

/**
 * SMS and WhatsApp through Twilio: the webhook is <AGENTD_PUBLIC_URL>/channels/twilio, the exact URL
 * Twilio signs (config.ts refuses Twilio without a public URL).
 */
function addTwilio(
  host: ChannelHost,
  config: ChannelsConfig,
  { role, modules }: WireOptions,
  names: string[],
  mounts: ConfiguredChannels["mounts"],
  log: (line: string) => void,
): void {
  const tw = config.twilio;
  if (!tw || !config.publicUrl) return;
  if (!modules.twilio)
    throw new Error("wireChannels: Twilio is configured but its module was not loaded (loadChannelModules)");
  const { twilioChannel, twilioClient } = modules.twilio;
  const publicUrl = `${config.publicUrl}/channels/twilio`;
  const client = twilioClient(tw.accountSid, tw.authToken, tw.apiBase ? { apiBaseUrl: tw.apiBase } : {});
  const watched = deliveryHealth(host, "twilio", `webhook ${publicUrl}`, [tw.authToken], host.now);
  const ch = twilioChannel(
    { ...host, adapters: watched },
    {
      accountSid: tw.accountSid,
      authToken: tw.authToken,
      publicUrl,
      client,
      register: role.worker,
      ...(tw.apiBase ? { apiBaseUrl: tw.apiBase } : {}),
      from: { ...(tw.smsFrom ? { sms: tw.smsFrom } : {}), ...(tw.whatsappFrom ? { whatsapp: tw.whatsappFrom } : {}) },
      log: (m) => log(`twilio: ${m}`),
    },
  );
  names.push(`twilio (webhook ${publicUrl})`);
  if (role.api) mounts.push({ path: "/channels/twilio", app: ch.webhook });
}

/** WhatsApp through Meta's Cloud API: the webhook is /channels/whatsapp. */
function addWhatsAppCloud(
  host: ChannelHost,
  config: ChannelsConfig,
  { role, modules }: WireOptions,
  names: string[],
  mounts: ConfiguredChannels["mounts"],
  log: (line: string) => void,
): void {
  const wa = config.whatsapp;
  if (!wa) return;
  if (!modules.whatsapp)
    throw new Error("wireChannels: WhatsApp is configured but its module was not loaded (loadChannelModules)");
  const { whatsappChannel } = modules.whatsapp;
  const secrets = [wa.accessToken, wa.appSecret, wa.verifyToken];
  const watched = deliveryHealth(host, "whatsapp", "Cloud API, webhook at /channels/whatsapp", secrets, host.now);
  const ch = whatsappChannel(
    { ...host, adapters: watched },
    {
      token: wa.accessToken,
      appSecret: wa.appSecret,
      phoneNumberId: wa.phoneNumberId,
      verifyToken: wa.verifyToken,
      register: role.worker,
      ...(wa.apiBase ? { apiBaseUrl: wa.apiBase } : {}),
      ...(wa.apiVersion ? { version: wa.apiVersion } : {}),
      log: (m) => log(`whatsapp: ${m}`),
    },
  );
  names.push("whatsapp cloud api (webhook at /channels/whatsapp)");
  if (role.api) mounts.push({ path: "/channels/whatsapp", app: ch.webhook });
}
