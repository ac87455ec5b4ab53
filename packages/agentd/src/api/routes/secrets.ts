import { Hono, type MiddlewareHandler } from "hono";
import { z } from "zod";
import type { Agentd } from "../../app.ts";
import { jsonBody } from "../body.ts";
import { type TenantEnv, scopeOf } from "../env.ts";
import { isReservedSecret, reservedSecretError } from "../../vault/vault.ts";

export const PutSecret = z.strictObject({ value: z.string() });

/** A reserved name is refused before anything else is read (its body is not looked at). */
const notReserved: MiddlewareHandler<TenantEnv, "/secrets/:name"> = async (c, next) => {
  if (isReservedSecret(c.req.param("name"))) throw reservedSecretError(c.req.param("name"));
  await next();
};

/**
 * The tenant's vault: names in, names out; a value is written here and never read back. Reserved
 * names (`sys.…`, a channel bot's token) are listed but neither written nor deleted here.
 */
export function secretRoutes(app: Agentd) {
  return new Hono<TenantEnv>()
    .get("/secrets", async (c) => c.json({ secrets: await app.vault.list(scopeOf(app, c)) }))
    .put("/secrets/:name", notReserved, jsonBody(PutSecret), async (c) => {
      const body = c.req.valid("json");
      await app.vault.put(scopeOf(app, c), c.req.param("name"), body.value);
      return c.body(null, 204);
    })
    .delete("/secrets/:name", notReserved, async (c) => {
      await app.vault.delete(scopeOf(app, c), c.req.param("name"));
      return c.body(null, 204);
    });
}
