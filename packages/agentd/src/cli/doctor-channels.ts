import { twilioClient } from "../channels/twilio/client.ts";
import { GRAPH_ORIGIN, GRAPH_VERSION } from "../channels/whatsapp/client.ts";

/** `agentd doctor`'s channel checks: each configured channel is asked who it is, with its own credentials. */
export interface ChannelCheck {
  name: string;
  ok: boolean;
  text: string;
}

export async function checkChannels(env: NodeJS.ProcessEnv, timeoutMs = 10_000): Promise<ChannelCheck[]> {
  const checks: ChannelCheck[] = [];
  if (env.TELEGRAM_BOT_TOKEN)
    checks.push(
      await checkTelegram(
        env.TELEGRAM_BOT_TOKEN,
        env.TELEGRAM_API_ROOT ?? "https://api.telegram.org",
        timeoutMs,
        !!env.TELEGRAM_WEBHOOK_SECRET,
      ),
    );
  if (env.TWILIO_ACCOUNT_SID && env.TWILIO_AUTH_TOKEN)
    checks.push(await checkTwilio(env.TWILIO_ACCOUNT_SID, env.TWILIO_AUTH_TOKEN, env.TWILIO_API_BASE, timeoutMs));
  if (env.WHATSAPP_ACCESS_TOKEN) checks.push(await checkWhatsApp(env, timeoutMs));
  if (checks.length === 0)
    checks.push({
      name: "channels",
      ok: true,
      text: "none configured (TELEGRAM_BOT_TOKEN adds Telegram, TWILIO_* SMS and WhatsApp, WHATSAPP_* WhatsApp's Cloud API; `agentd chat` and the HTTP API need none)",
    });
  return checks;
}

async function checkTelegram(token: string, root: string, timeoutMs: number, webhook: boolean): Promise<ChannelCheck> {
  const name = "telegram";
  try {
    const res = await fetch(`${root}/bot${token}/getMe`, { signal: AbortSignal.timeout(timeoutMs) });
    const body = (await res.json().catch(() => ({}))) as { ok?: boolean; result?: { username?: string } };
    if (res.status === 401 || res.status === 404)
      return {
        name,
        ok: false,
        text: `Telegram refused TELEGRAM_BOT_TOKEN (HTTP ${res.status}): copy the token again from @BotFather`,
      };
    if (!res.ok || !body.ok)
      return {
        name,
        ok: false,
        text: `the Bot API at ${root} answered HTTP ${res.status}: try again later, or check TELEGRAM_API_ROOT`,
      };
    return {
      name,
      ok: true,
      text: `bot @${body.result?.username ?? "?"}${webhook ? ", webhook at /channels/telegram" : ", long polling"}`,
    };
  } catch (e) {
    return {
      name,
      ok: false,
      text: `cannot reach the Bot API at ${root} (${e instanceof Error ? e.message : String(e)}): check the network or TELEGRAM_API_ROOT`,
    };
  }
}

async function checkTwilio(
  sid: string,
  token: string,
  apiBase: string | undefined,
  timeoutMs: number,
): Promise<ChannelCheck> {
  const name = "twilio";
  try {
    const client = twilioClient(sid, token, {
      ...(apiBase ? { apiBaseUrl: apiBase } : {}),
      autoRetry: false,
      timeout: timeoutMs,
    });
    const account = await client.api.v2010.accounts(sid).fetch();
    if (account.status !== "active")
      return {
        name,
        ok: false,
        text: `the Twilio account ${sid} is ${account.status}: reactivate it in Twilio's console`,
      };
    return { name, ok: true, text: `account ${account.friendlyName || sid}` };
  } catch (e) {
    const status = (e as { status?: number }).status;
    if (status === 401 || status === 404)
      return {
        name,
        ok: false,
        text: `Twilio refused TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN (HTTP ${status}): copy both again from Twilio's console`,
      };
    return {
      name,
      ok: false,
      text: `cannot reach Twilio (${e instanceof Error ? e.message : String(e)}): check the network${apiBase ? " or TWILIO_API_BASE" : ""}`,
    };
  }
}

/** The Cloud API: the phone number id is read with the token (GET /<version>/<phone number id>). */
async function checkWhatsApp(env: NodeJS.ProcessEnv, timeoutMs: number): Promise<ChannelCheck> {
  const name = "whatsapp";
  const id = env.WHATSAPP_PHONE_NUMBER_ID;
  const missing = ["WHATSAPP_APP_SECRET", "WHATSAPP_PHONE_NUMBER_ID", "WHATSAPP_VERIFY_TOKEN"].filter((k) => !env[k]);
  if (missing.length)
    return {
      name,
      ok: false,
      text: `WHATSAPP_ACCESS_TOKEN is set but ${missing.join(", ")} not: set them (see agentd help start)`,
    };
  const base = (env.WHATSAPP_API_BASE ?? GRAPH_ORIGIN).replace(/\/+$/, "");
  try {
    const res = await fetch(
      `${base}/${env.WHATSAPP_API_VERSION ?? GRAPH_VERSION}/${encodeURIComponent(id as string)}?fields=display_phone_number,verified_name`,
      {
        headers: { authorization: `Bearer ${env.WHATSAPP_ACCESS_TOKEN}` },
        signal: AbortSignal.timeout(timeoutMs),
      },
    );
    const body = (await res.json().catch(() => ({}))) as {
      display_phone_number?: string;
      verified_name?: string;
      error?: { code?: number; message?: string };
    };
    if (body.error?.code === 190 || res.status === 401)
      return {
        name,
        ok: false,
        text: "Meta refused WHATSAPP_ACCESS_TOKEN (invalid or expired): make a system user's token with whatsapp_business_messaging",
      };
    if (!res.ok)
      return {
        name,
        ok: false,
        text: `Meta could not read phone number ${id} (HTTP ${res.status}${body.error?.message ? `: ${body.error.message}` : ""}): check WHATSAPP_PHONE_NUMBER_ID (the number's id, not the number)`,
      };
    return {
      name,
      ok: true,
      text: `${body.verified_name ?? "?"} (${body.display_phone_number ?? id}), webhook at /channels/whatsapp`,
    };
  } catch (e) {
    return {
      name,
      ok: false,
      text: `cannot reach the Graph API at ${base} (${e instanceof Error ? e.message : String(e)}): check the network${env.WHATSAPP_API_BASE ? " or WHATSAPP_API_BASE" : ""}`,
    };
  }
}
