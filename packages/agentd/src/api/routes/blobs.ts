import { Hono } from "hono";
import type { Agentd } from "../../app.ts";
import type { ApiEnv } from "../env.ts";

/** Media a tenant's people sent (photos, voice notes, documents), read back by id. */
export function blobRoutes(_app: Agentd): Hono<ApiEnv> {
  return new Hono<ApiEnv>();
}
