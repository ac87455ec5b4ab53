// The environment of agentd as a function, as an operator sets it on a platform: Postgres (a fresh
// schema), the deployment's Telegram bot by webhook against the Bot API stand-in, the model stand-in.
import { randomBytes } from "node:crypto";
import { type Backend, postgres } from "../support/backends.ts";
import { type ModelServer, startModelServer } from "../support/model-server.ts";
import { startTelegramServer, type TelegramServer } from "../support/telegram-server.ts";

export const TICK_SECRET = "tick-secret-0123456789";
export const HOOK_SECRET = "hook-secret-fn";
export const ADMIN_TOKEN = "admin-token-for-functions";

export interface FunctionRig {
  env: Record<string, string>;
  tg: TelegramServer;
  model: ModelServer;
}

/** Stand-ins and the environment; everything is closed or dropped after the test. */
export async function functionRig(t: { after(fn: () => unknown): void }, b: Backend = postgres): Promise<FunctionRig> {
  const place = b.place(t);
  const tg = await startTelegramServer();
  const model = await startModelServer();
  t.after(() => Promise.all([tg.close(), model.close()]));
  const env: Record<string, string> = {
    AGENTD_DATA: place.dataDir,
    AGENTD_MASTER_KEY: randomBytes(32).toString("base64"),
    AGENTD_ADMIN_TOKEN: ADMIN_TOKEN,
    AGENTD_TICK_SECRET: TICK_SECRET,
    AGENTD_MODEL: "stand-in",
    AGENTD_MODEL_BASE_URL: model.url,
    AGENTD_MODEL_API_KEY: "test-key",
    AGENTD_PUBLIC_URL: "http://127.0.0.1:9/fn",
    TELEGRAM_BOT_TOKEN: tg.token,
    TELEGRAM_WEBHOOK_SECRET: HOOK_SECRET,
    TELEGRAM_API_ROOT: tg.apiRoot,
    ...(place.databaseUrl ? { DATABASE_URL: place.databaseUrl } : {}),
    ...(place.pgSchema ? { AGENTD_PG_SCHEMA: place.pgSchema } : {}),
  };
  return { env, tg, model };
}

/** A Telegram update posted to the function's webhook, as Telegram posts it. */
export const webhookRequest = (base: string, update: object, secret = HOOK_SECRET) =>
  new Request(`${base}/channels/telegram`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": secret },
    body: JSON.stringify(update),
  });

/** The platform's cron calling the tick. */
export const tickRequest = (base: string, secret = TICK_SECRET) =>
  new Request(`${base}/tick`, { headers: { authorization: `Bearer ${secret}` } });
