import { text } from "node:stream/consumers";
import type { TenantBot } from "../channels/telegram/bots.ts";
import { type CommandInput, type Parsed, parseCommand, required } from "./args.ts";
import { UsageError } from "./errors.ts";
import { table, time } from "./format.ts";
import { botView } from "../api/routes/bots.ts";
import { JSON_OPTION, printedJson } from "./output.ts";
import { withAdmin } from "./store.ts";

/**
 * `agentd bots list [--tenant] | add --tenant <id> [--token-stdin] [--mode] | remove --tenant <id> <botId>`:
 * tenants' own Telegram bots, on the store directly. A running agentd picks the change up by itself:
 * its webhook router and deliveries look bots up in the store, its pollers rescan it.
 */
export async function bots(input: CommandInput): Promise<number> {
  const p = parseCommand(
    input,
    {
      tenant: { type: "string" },
      token: { type: "string" },
      "token-stdin": { type: "boolean" },
      mode: { type: "string" },
      ...JSON_OPTION,
    },
    2,
  );
  const sub = p.positionals[0] ?? "list";
  const out = (s: string) => process.stdout.write(s);
  const tenant = p.values.tenant as string | undefined;
  if (sub !== "add" && (p.values.token !== undefined || p.values["token-stdin"] || p.values.mode !== undefined))
    throw new UsageError(`agentd bots ${sub}: --token, --token-stdin and --mode go with add`);
  switch (sub) {
    case "list":
      if (p.positionals.length > 1)
        throw new UsageError("agentd bots list takes no argument; see `agentd bots --help`");
      return withAdmin(input, p, async (app) => {
        const list = tenant
          ? await app.configuredChannels.telegramBots.list((await app.tenants.require(tenant)).id)
          : await app.configuredChannels.telegramBots.sync();
        if (printedJson(p, { bots: list.map(botView) })) return 0;
        if (list.length === 0)
          out(
            `no Telegram bots${tenant ? ` for tenant ${tenant}` : ""} yet: add one with \`agentd bots add --tenant <id> --token-stdin\`\n`,
          );
        else out(table(["ID", "TENANT", "USERNAME", "MODE", "CREATED", "WEBHOOK"], list.map(row)));
        return 0;
      });
    case "add": {
      if (p.positionals.length > 1)
        throw new UsageError(
          `agentd bots add: unexpected argument "${p.positionals[1]}" (give the token with --token-stdin or $AGENTD_BOT_TOKEN, not as an argument)`,
        );
      const id = needTenant(tenant, "add");
      const mode = p.values.mode as string | undefined;
      if (mode !== undefined && mode !== "webhook" && mode !== "polling")
        throw new UsageError(`agentd bots add: --mode is "webhook" or "polling", not "${mode}"`);
      const token = await tokenOf(input, p);
      return withAdmin(input, p, async (app) => {
        const bot = await app.configuredChannels.telegramBots.create(
          id,
          token,
          mode as "webhook" | "polling" | undefined,
        );
        out(
          `added Telegram bot ${bot.id} (@${bot.username ?? "?"}) to tenant ${id}, ${bot.mode === "webhook" ? `webhook at ${bot.webhookUrl}` : "long polling by a worker"}; ` +
            `pair people with \`agentd tenants pair ${id}\` and "/start CODE" sent to the bot\n`,
        );
        return 0;
      });
    }
    case "remove": {
      const id = needTenant(tenant, "remove");
      const botId = required(p, 1, "a bot id", "agentd bots remove");
      return withAdmin(input, p, async (app) => {
        const r = await app.configuredChannels.telegramBots.remove(id, botId);
        out(
          `removed Telegram bot ${botId} from tenant ${id}${r.webhookRemoved ? "" : " (Telegram's webhook could not be removed: see the message above)"}\n`,
        );
        return 0;
      });
    }
    default:
      throw new UsageError(`agentd bots: unknown subcommand "${sub}"; use list, add or remove`);
  }
}

function needTenant(tenant: string | undefined, sub: string): string {
  if (!tenant) throw new UsageError(`agentd bots ${sub} needs --tenant <id> (list tenants with \`agentd tenants\`)`);
  return tenant;
}

/**
 * The token, from stdin (--token-stdin), --token, or $AGENTD_BOT_TOKEN. Not TELEGRAM_BOT_TOKEN: that
 * is the deployment's own bot, and adding it to a tenant too would make two receivers for one bot.
 */
async function tokenOf(input: CommandInput, p: Parsed): Promise<string> {
  const sources = [p.values["token-stdin"] ? "stdin" : null, p.values.token !== undefined ? "flag" : null].filter(
    Boolean,
  );
  if (sources.length > 1) throw new UsageError("agentd bots add: give the token one way: --token-stdin or --token");
  const token = p.values["token-stdin"]
    ? (await text(process.stdin)).trim()
    : ((p.values.token as string | undefined) ?? input.env.AGENTD_BOT_TOKEN ?? "").trim();
  if (!token)
    throw new UsageError(
      "agentd bots add needs the bot's token from @BotFather: pipe it in with --token-stdin (best: it stays out of the process list and shell history), or set AGENTD_BOT_TOKEN",
    );
  return token;
}

const row = (b: TenantBot) => [
  b.id,
  b.tenantId,
  b.username ? `@${b.username}` : "-",
  b.mode,
  time(b.createdAt),
  b.webhookUrl ?? "-",
];
