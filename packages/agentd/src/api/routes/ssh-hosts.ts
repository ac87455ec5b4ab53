import { Hono } from "hono";
import { z } from "zod";
import type { Agentd } from "../../app.ts";
import { notFound } from "../../errors.ts";
import { jsonBody } from "../body.ts";
import { type TenantEnv, scopeOf } from "../env.ts";

const NAME = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, "1-32 of a-z 0-9 _ - (starting with a letter or digit)");

export const AddSshHost = z.strictObject({
  name: NAME,
  address: z.string().min(1).max(253),
  port: z.number().int().min(1).max(65535).optional(),
  user: z.string().min(1).max(32),
  /** The tenant's key to log in with (default "default", made when missing). */
  key: NAME.optional(),
  /** wss://… of a relay (agentd relay, websockify) for hosts reachable over HTTPS only. */
  tunnelUrl: z.string().max(2000).optional(),
  /** The relay's token: kept in the vault, never shown again. */
  tunnelToken: z.string().min(1).max(4096).optional(),
  /** Command patterns safe to run again when a worker died while one ran. */
  idempotent: z.array(z.string().min(1).max(500)).max(50).optional(),
  /** The fingerprint the person expects (SHA256:…): when the host presents it, it is pinned at once. */
  fingerprint: z.string().max(100).optional(),
});
export const ConfirmSshHost = z.strictObject({ fingerprint: z.string().min(1).max(100) });
export const PutSshKey = z.strictObject({
  name: NAME,
  /** An OpenSSH or PEM private key to import; absent: agentd makes an ed25519 pair. Kept in the vault, never shown. */
  privateKey: z.string().min(1).max(16_000).optional(),
  passphrase: z.string().min(1).max(1000).optional(),
});

/** A tenant's SSH hosts (their pinned host keys) and keys (public halves only). */
export function sshHostRoutes(app: Agentd) {
  return new Hono<TenantEnv>()
    .get("/ssh/hosts", async (c) => {
      const scope = scopeOf(app, c);
      return c.json({ hosts: await app.ssh.hosts(scope), keys: await app.ssh.keys.list(scope) });
    })
    .post("/ssh/hosts", jsonBody(AddSshHost), async (c) => {
      const added = await app.ssh.addHost(scopeOf(app, c), c.req.valid("json"), c.req.raw.signal);
      return c.json(added, 201);
    })
    .post("/ssh/hosts/:name/confirm", jsonBody(ConfirmSshHost), async (c) =>
      c.json(await app.ssh.confirmHost(scopeOf(app, c), c.req.param("name"), c.req.valid("json").fingerprint)),
    )
    .delete("/ssh/hosts/:name", async (c) => {
      if (!(await app.ssh.removeHost(scopeOf(app, c), c.req.param("name"))))
        throw notFound(`ssh host ${JSON.stringify(c.req.param("name").slice(0, 40))}`);
      return c.body(null, 204);
    })
    .post("/ssh/keys", jsonBody(PutSshKey), async (c) => {
      const body = c.req.valid("json");
      const scope = scopeOf(app, c);
      const key = body.privateKey
        ? await app.ssh.keys.import(scope, body.name, body.privateKey, body.passphrase)
        : await app.ssh.keys.generate(scope, body.name);
      return c.json(key, 201);
    });
}
