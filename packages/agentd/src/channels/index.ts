import type { Hono } from "hono";
import type { Agentd } from "../app.ts";
import { telegramChannel } from "./telegram/index.ts";

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
