import { Hono } from "hono";
import { z } from "zod";
import type { Agentd } from "../../app.ts";
import { readBody } from "../body.ts";
import { type TenantEnv, scopeOf } from "../env.ts";
import { isReservedSecret, reservedSecretError } from "../../vault/vault.ts";

export const PutSecret = z.strictObject({ value: z.string() });

/**
 * The tenant's vault: names in, names out; a value is written here and never read back. Reserved
 * names (`sys.…`, a channel bot's token) are listed but neither written nor deleted here.
 */
export function secretRoutes(app: Agentd): Hono<TenantEnv> {
  const r = new Hono<TenantEnv>();

  r.get("/secrets", async (c) => c.json({ secrets: await app.vault.list(scopeOf(app, c)) }));

  r.put("/secrets/:name", async (c) => {
    if (isReservedSecret(c.req.param("name"))) throw reservedSecretError(c.req.param("name"));
    const body = await readBody(c, PutSecret);
    await app.vault.put(scopeOf(app, c), c.req.param("name"), body.value);
    return c.body(null, 204);
  });

  r.delete("/secrets/:name", async (c) => {
    if (isReservedSecret(c.req.param("name"))) throw reservedSecretError(c.req.param("name"));
    await app.vault.delete(scopeOf(app, c), c.req.param("name"));
    return c.body(null, 204);
  });

  return r;
}
