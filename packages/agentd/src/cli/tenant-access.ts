import { type CommandInput, noMoreThan, type Parsed, required } from "./args.ts";
import { table, time } from "./format.ts";
import { withApi } from "./local-api.ts";
import { printedJson } from "./output.ts";

/** The subcommands of `agentd tenants` about who reaches a tenant: API keys, pairing codes, bound identities. */
export const ACCESS_SUBCOMMANDS = ["key", "keys", "revoke", "pair", "identities", "bind", "unbind"];

/** `agentd tenants key | keys | revoke | pair | identities | bind | unbind`, through the API in this process. */
export async function tenantAccess(input: CommandInput, p: Parsed, sub: string): Promise<number> {
  const out = (s: string) => process.stdout.write(s);
  const tenantId = required(p, 1, "a tenant id", `agentd tenants ${sub}`);
  const id = { id: encodeURIComponent(tenantId) };
  const arg = (i: number, what: string) => required(p, i, what, `agentd tenants ${sub}`);
  const takes = (n: number) => noMoreThan(p, n, `tenants ${sub}`);
  return withApi(input, p, null, async (client) => {
    const tenant = client.api.v1.tenants[":id"];
    switch (sub) {
      case "key": {
        takes(2);
        const k = await (await tenant.keys.$post({ param: id })).json();
        if (printedJson(p, k)) return 0;
        out(`API key ${k.id} for tenant ${tenantId} (shown this once; only its hash is kept):\n${k.key}\n`);
        return 0;
      }
      case "keys": {
        takes(2);
        const { keys } = await (await tenant.keys.$get({ param: id })).json();
        if (printedJson(p, { keys })) return 0;
        if (keys.length === 0)
          out(`tenant ${tenantId} has no API keys: make one with \`agentd tenants key ${tenantId}\`\n`);
        else
          out(
            table(
              ["ID", "PREFIX", "CREATED", "REVOKED"],
              keys.map((k) => [k.id, `${k.prefix}…`, time(k.createdAt), time(k.revokedAt)]),
            ),
          );
        return 0;
      }
      case "revoke": {
        takes(3);
        const keyId = arg(2, "a key id (`agentd tenants keys <tenantId>` lists them)");
        await tenant.keys[":keyId"].$delete({ param: { ...id, keyId: encodeURIComponent(keyId) } });
        out(`revoked API key ${keyId} of tenant ${tenantId}: it stops working at once\n`);
        return 0;
      }
      case "pair": {
        takes(2);
        const c = await (await tenant["pairing-codes"].$post({ param: id, json: {} })).json();
        if (printedJson(p, c)) return 0;
        out(
          `pairing code for tenant ${tenantId}: ${c.code} (one use, until ${time(c.expiresAt)}); send "/start ${c.code}" from the channel to pair\n`,
        );
        return 0;
      }
      case "identities": {
        takes(2);
        const { identities } = await (await tenant.identities.$get({ param: id })).json();
        if (printedJson(p, { identities })) return 0;
        if (identities.length === 0)
          out(`no identities bound to tenant ${tenantId}: people pair with \`agentd tenants pair ${tenantId}\`\n`);
        else
          out(
            table(
              ["CHANNEL", "EXTERNAL ID", "NAME", "BOUND"],
              identities.map((x) => [x.channel, x.externalId, x.display ?? "-", time(x.createdAt)]),
            ),
          );
        return 0;
      }
      case "bind": {
        takes(4);
        const channel = arg(2, "a channel (telegram, twilio, whatsapp…)");
        const externalId = arg(3, "the person's id on that channel");
        const display = p.values.display as string | undefined;
        await tenant.identities.$post({
          param: id,
          json: { channel, externalId, ...(display ? { display } : {}), ...(p.values.force ? { force: true } : {}) },
        });
        out(`bound ${channel}:${externalId} to tenant ${tenantId}\n`);
        return 0;
      }
      default: {
        takes(4);
        const channel = arg(2, "a channel");
        const externalId = arg(3, "the person's id on that channel");
        await tenant.identities[":channel"][":externalId"].$delete({
          param: { ...id, channel: encodeURIComponent(channel), externalId: encodeURIComponent(externalId) },
        });
        out(`unbound ${channel}:${externalId} from tenant ${tenantId}\n`);
        return 0;
      }
    }
  });
}
