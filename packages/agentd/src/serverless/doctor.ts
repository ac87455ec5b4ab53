import { type Config, ConfigError } from "../config.ts";
import { checkFunctionConfig, tickSecretOf, timeLimitMsOf } from "./options.ts";

interface Check {
  name: string;
  ok: boolean;
  text: string;
}

/** Whether `agentd doctor` runs in a function's environment: the tick's secret is set, or a platform says so. */
export function isFunctionEnv(env: NodeJS.ProcessEnv): boolean {
  return !!(env.AGENTD_TICK_SECRET || env.CRON_SECRET || env.VERCEL || env.AWS_LAMBDA_FUNCTION_NAME);
}

/**
 * `agentd doctor`'s lines for agentd as a function (createAgentdHandler), in a function's environment
 * only: what the handler would refuse (SQLite, a key or token made on the function's disk, Telegram by
 * long polling, the tick's secret, the time limit), one line each, and where the webhooks must point.
 */
export function checkFunction(config: Config, env: NodeJS.ProcessEnv): Check[] {
  if (!isFunctionEnv(env)) return [];
  const problems: string[] = [];
  const refused = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      if (!ConfigError.is(e)) throw e;
      problems.push(...e.message.split("; "));
    }
  };
  refused(() => checkFunctionConfig(config, env));
  refused(() => tickSecretOf(undefined, env));
  refused(() => timeLimitMsOf(undefined, env));
  const ch = config.channels;
  if (!ch.publicUrl && (ch.telegram.botToken || ch.whatsapp))
    problems.push(
      "set AGENTD_PUBLIC_URL (the deployment's https URL): channels reach a function by webhook only, and their webhooks are set from it",
    );
  if (problems.length > 0) return problems.map((text) => ({ name: "function", ok: false, text }));
  return [
    {
      name: "function",
      ok: true,
      text: "ready for createAgentdHandler (Postgres, its own master key and admin token, channels by webhook); the platform's cron must call /tick every minute with the tick's secret",
    },
  ];
}
