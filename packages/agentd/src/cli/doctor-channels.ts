/** `agentd doctor`'s channel checks: each configured channel is asked who it is, with its own credentials. */
export interface ChannelCheck {
  name: string;
  ok: boolean;
  text: string;
}

export async function checkChannels(env: NodeJS.ProcessEnv, timeoutMs = 10_000): Promise<ChannelCheck[]> {
  const checks: ChannelCheck[] = [];
  if (env.TELEGRAM_BOT_TOKEN) checks.push(await checkTelegram(env.TELEGRAM_BOT_TOKEN, env.TELEGRAM_API_ROOT ?? "https://api.telegram.org", timeoutMs, !!env.TELEGRAM_WEBHOOK_SECRET));
  if (checks.length === 0)
    checks.push({ name: "channels", ok: true, text: "none configured (TELEGRAM_BOT_TOKEN adds Telegram; `agentd chat` and the HTTP API need none)" });
  return checks;
}

async function checkTelegram(token: string, root: string, timeoutMs: number, webhook: boolean): Promise<ChannelCheck> {
  const name = "telegram";
  try {
    const res = await fetch(`${root}/bot${token}/getMe`, { signal: AbortSignal.timeout(timeoutMs) });
    const body = (await res.json().catch(() => ({}))) as { ok?: boolean; result?: { username?: string } };
    if (res.status === 401 || res.status === 404) return { name, ok: false, text: `Telegram refused TELEGRAM_BOT_TOKEN (HTTP ${res.status}): copy the token again from @BotFather` };
    if (!res.ok || !body.ok) return { name, ok: false, text: `the Bot API at ${root} answered HTTP ${res.status}: try again later, or check TELEGRAM_API_ROOT` };
    return { name, ok: true, text: `bot @${body.result?.username ?? "?"}${webhook ? ", webhook at /channels/telegram" : ", long polling"}` };
  } catch (e) {
    return { name, ok: false, text: `cannot reach the Bot API at ${root} (${e instanceof Error ? e.message : String(e)}): check the network or TELEGRAM_API_ROOT` };
  }
}
