import { ConfigError, type Config } from "../config.ts";

/**
 * Why a function cannot keep agentd's data in SQLite: said by the README's "deploy without a server"
 * section and by the refusal, in the same words.
 */
export const SQLITE_REFUSED =
  "agentd without a server needs Postgres (set DATABASE_URL, e.g. to a Neon or Supabase database): a function's disk is ephemeral and private to one instance, so a SQLite file would lose messages, runs and the vault between invocations, and two instances would each keep their own";

/** What a function's configuration must give that `agentd start` would make on its disk, and why. */
export function checkFunctionConfig(config: Config, env: NodeJS.ProcessEnv): void {
  if (!config.databaseUrl) throw new ConfigError(SQLITE_REFUSED);
  const problems: string[] = [];
  if (!env.AGENTD_MASTER_KEY)
    problems.push(
      "set AGENTD_MASTER_KEY (32 bytes as base64 or hex, e.g. from `openssl rand -base64 32`): a key made on a function's disk is lost with it, and every secret sealed with it",
    );
  if (!config.adminToken)
    problems.push("set AGENTD_ADMIN_TOKEN (16+ random characters): a token made on a function's disk is lost with it");
  const tg = config.channels.telegram;
  if (tg.botToken && !tg.webhookSecret)
    problems.push(
      "set TELEGRAM_WEBHOOK_SECRET: long polling does not fit functions (nothing runs between invocations), so the bot must be served by its webhook",
    );
  if (problems.length > 0) throw new ConfigError(problems.join("; "));
}

/** The tick's secret: AGENTD_TICK_SECRET, else CRON_SECRET (Vercel Cron sends it as `Authorization: Bearer`). */
export function tickSecretOf(given: string | undefined, env: NodeJS.ProcessEnv): string {
  const secret = given ?? env.AGENTD_TICK_SECRET ?? env.CRON_SECRET;
  if (!secret || secret.length < 16)
    throw new ConfigError(
      "set AGENTD_TICK_SECRET (or CRON_SECRET, which Vercel Cron sends) to 16+ random characters: the tick route refuses calls without it",
    );
  return secret;
}

/** The function's time limit: AGENTD_FUNCTION_TIMEOUT in seconds (default 10, the smallest limit platforms set). */
export function timeLimitMsOf(given: number | undefined, env: NodeJS.ProcessEnv): number {
  if (given !== undefined) return given;
  const raw = env.AGENTD_FUNCTION_TIMEOUT;
  if (raw === undefined || raw === "") return 10_000;
  const s = Number(raw);
  if (!Number.isInteger(s) || s < 2 || s > 900)
    throw new ConfigError(
      `AGENTD_FUNCTION_TIMEOUT is not valid: it must be the function's time limit in whole seconds, from 2 to 900 (got ${JSON.stringify(raw.slice(0, 20))})`,
    );
  return s * 1000;
}
