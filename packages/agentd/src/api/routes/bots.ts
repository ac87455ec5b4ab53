import { Hono } from "hono";
import type { Agentd } from "../../app.ts";
import type { ApiEnv } from "../env.ts";

/** A tenant's own channel bots (Telegram), their tokens kept in the vault. */
export function botRoutes(_app: Agentd): Hono<ApiEnv> {
  return new Hono<ApiEnv>();
}
