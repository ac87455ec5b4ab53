import { Hono } from "hono";
import { z } from "zod";
import type { Agentd } from "../../app.ts";
import { badRequest, conflict } from "../../errors.ts";
import { deleteTenant } from "../../tenancy/delete.ts";
import { TenantSettings } from "../../tenancy/settings.ts";
import { describeIssues, jsonBody, queryOf } from "../body.ts";
import type { ApiEnv } from "../env.ts";

export const Settings = z.record(z.string(), z.unknown());
export const CreateTenant = z.strictObject({ name: z.string().trim().min(1).max(200), settings: Settings.optional() });
export const PatchTenant = z.strictObject({
  name: z.string().trim().min(1).max(200).optional(),
  settings: Settings.optional(),
});
export const ListTenants = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(100),
  after: z.string().max(200).default(""),
});
export const PairingCode = z.strictObject({
  ttlSeconds: z
    .number()
    .int()
    .min(60)
    .max(30 * 24 * 3600)
    .optional(),
});
export const Identity = z.strictObject({
  channel: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, "a channel is 1 to 32 lower-case letters, digits, '_' or '-'"),
  externalId: z.string().min(1).max(200),
  display: z.string().max(200).optional(),
  /** Move an identity bound to another tenant to this one. */
  force: z.boolean().optional(),
});

/** The operator's routes: tenants, their API keys, pairing codes and channel identities (admin token only). */
export function tenantRoutes(app: Agentd) {
  return (
    new Hono<ApiEnv>()
      .post("/tenants", jsonBody(CreateTenant), async (c) => {
        const body = c.req.valid("json");
        const settings = TenantSettings.strict().safeParse(body.settings ?? {});
        if (!settings.success) throw badRequest(describeIssues(settings.error, "settings"));
        const tenant = await app.tenants.create(body.name, body.settings ?? {}); // unparsed: defaults (the zone) are the deployment's
        // A heartbeat the kernel refuses (a bad cron or zone) leaves no tenant behind.
        await app.jobs.syncHeartbeat(tenant.id, tenant.settings).catch(async (e: unknown) => {
          await app.tenants.delete(tenant.id).catch(() => {});
          throw e;
        });
        const key = await app.tenants.createApiKey(tenant.id);
        return c.json({ tenant, apiKey: key.key, keyId: key.id }, 201);
      })
      .get("/tenants", queryOf(ListTenants), async (c) => {
        const q = c.req.valid("query");
        return c.json({ tenants: await app.tenants.list(q.limit, q.after) });
      })
      .get("/tenants/:id", async (c) => c.json(await app.tenants.require(c.req.param("id"))))
      .patch("/tenants/:id", jsonBody(PatchTenant), async (c) => {
        const body = c.req.valid("json");
        if (body.name === undefined && body.settings === undefined)
          throw badRequest("the body changes nothing: give name, settings or both");
        const before = await app.tenants.require(c.req.param("id"));
        const tenant = await app.tenants.update(before.id, body);
        // A heartbeat the kernel refuses puts the settings back as they were.
        await app.jobs.syncHeartbeat(tenant.id, tenant.settings).catch(async (e: unknown) => {
          await app.tenants.update(before.id, { name: before.name, settings: before.settings }).catch(() => {});
          throw e;
        });
        return c.json(tenant);
      })
      .delete("/tenants/:id", async (c) => {
        await deleteTenant(app, c.req.param("id"));
        return c.body(null, 204);
      })
      .get("/tenants/:id/keys", async (c) => {
        const tenant = await app.tenants.require(c.req.param("id"));
        return c.json({ keys: await app.tenants.apiKeys(tenant.id) });
      })
      .post("/tenants/:id/keys", async (c) => c.json(await app.tenants.createApiKey(c.req.param("id")), 201))
      .delete("/tenants/:id/keys/:keyId", async (c) => {
        await app.tenants.require(c.req.param("id"));
        await app.tenants.revokeApiKey(c.req.param("id"), c.req.param("keyId"));
        return c.body(null, 204);
      })
      .post("/tenants/:id/pairing-codes", jsonBody(PairingCode, { optional: true }), async (c) => {
        const body = c.req.valid("json");
        const code = await app.tenants.createPairingCode(
          c.req.param("id"),
          body.ttlSeconds === undefined ? undefined : body.ttlSeconds * 1000,
        );
        return c.json(code, 201);
      })
      .get("/tenants/:id/identities", async (c) => {
        const tenant = await app.tenants.require(c.req.param("id"));
        return c.json({ identities: await app.tenants.identities(tenant.id) });
      })
      // An unknown tenant is a 404 whatever the body says: checked before the body is read.
      .post(
        "/tenants/:id/identities",
        async (c, next) => {
          await app.tenants.require(c.req.param("id"));
          await next();
        },
        jsonBody(Identity),
        async (c) => {
          const tenantId = c.req.param("id");
          const body = c.req.valid("json");
          const bound = await app.tenants.tenantOf(body.channel, body.externalId);
          if (bound && bound !== tenantId && !body.force)
            throw conflict(
              `identity ${body.channel}:${body.externalId} is bound to tenant ${bound}; unbind it there first, or send "force": true to move it`,
            );
          await app.tenants.bindIdentity(tenantId, body.channel, body.externalId, body.display);
          return c.json(
            { tenantId, channel: body.channel, externalId: body.externalId, display: body.display ?? null },
            201,
          );
        },
      )
      .delete("/tenants/:id/identities/:channel/:externalId", async (c) => {
        await app.tenants.require(c.req.param("id"));
        await app.tenants.unbindIdentity(c.req.param("id"), c.req.param("channel"), c.req.param("externalId"));
        return c.body(null, 204);
      })
  );
}
