import { Hono } from "hono";
import { z } from "zod";
import type { Agentd } from "../../app.ts";
import type { TenantBot } from "../../channels/telegram/bots.ts";
import { jsonBody } from "../body.ts";
import { type TenantEnv, scopeOf } from "../env.ts";

export const AddTelegramBot = z.strictObject({
  /** The token BotFather gave; kept in the tenant's vault and never shown again. */
  token: z.string().min(3).max(300),
  /** webhook (needs AGENTD_PUBLIC_URL) or polling; default: webhook when AGENTD_PUBLIC_URL is set. */
  mode: z.enum(["webhook", "polling"]).optional(),
});

/** What a client sees of a bot: never its token or webhook secret. */
export const botView = (b: TenantBot) => ({
  id: b.id,
  username: b.username,
  mode: b.mode,
  ...(b.webhookUrl ? { webhookUrl: b.webhookUrl } : {}),
  createdAt: b.createdAt,
});

/** A tenant's own channel bots (Telegram), their tokens kept in the vault. */
export function botRoutes(app: Agentd) {
  const bots = app.configuredChannels.telegramBots;
  return new Hono<TenantEnv>()
    .get("/channels/telegram", async (c) => c.json({ bots: (await bots.list(scopeOf(app, c).tenantId)).map(botView) }))
    .post("/channels/telegram", jsonBody(AddTelegramBot), async (c) => {
      const body = c.req.valid("json");
      const bot = await bots.create(scopeOf(app, c).tenantId, body.token, body.mode);
      return c.json(botView(bot), 201);
    })
    .delete("/channels/telegram/:id", async (c) => {
      await bots.remove(scopeOf(app, c).tenantId, c.req.param("id"));
      return c.body(null, 204);
    });
}
