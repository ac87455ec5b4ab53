import { createInterface } from "node:readline/promises";
import { text } from "node:stream/consumers";
import { notFound } from "../errors.ts";
import type { SshHost } from "../ssh/hosts.ts";
import { type CommandInput, type Parsed, parseCommand, required } from "./args.ts";
import { UsageError } from "./errors.ts";
import { table, time } from "./format.ts";
import { JSON_OPTION, printedJson } from "./output.ts";
import { withAdmin } from "./store.ts";

/**
 * `agentd ssh hosts list|add|confirm|remove` and `agentd ssh key`: a tenant's SSH hosts and keys, on
 * the store directly. Adding a host reads the key it presents and shows its fingerprint; a person
 * confirms it (here on a terminal, or with `confirm` later) before anything runs there.
 */
export async function ssh(input: CommandInput): Promise<number> {
  const p = parseCommand(
    input,
    {
      tenant: { type: "string" },
      key: { type: "string" },
      fingerprint: { type: "string" },
      tunnel: { type: "string" },
      "tunnel-token-stdin": { type: "boolean" },
      idempotent: { type: "string", multiple: true },
      "import-stdin": { type: "boolean" },
      "passphrase-env": { type: "string" },
      yes: { type: "boolean", short: "y" },
      ...JSON_OPTION,
    },
    4,
  );
  const [group, sub] = p.positionals;
  if (group === "key") return key(input, p);
  if (group !== "hosts") throw new UsageError(`agentd ssh: unknown subcommand "${group ?? ""}"; use hosts or key`);
  const tenant = needTenant(p);
  const out = (s: string) => process.stdout.write(s);
  switch (sub ?? "list") {
    case "list":
      return withAdmin(input, p, async (app) => {
        const scope = app.tenants.scope((await app.tenants.require(tenant)).id);
        const hosts = await app.ssh.hosts(scope);
        if (printedJson(p, { hosts, keys: await app.ssh.keys.list(scope) })) return 0;
        if (hosts.length === 0) out(`no ssh hosts for tenant ${tenant} yet: add one with \`agentd ssh hosts add\`\n`);
        else out(table(["NAME", "TARGET", "HOST KEY", "KEY", "TUNNEL", "ADDED"], hosts.map(row)));
        return 0;
      });
    case "add": {
      const name = required(p, 2, "a host name", "agentd ssh hosts add");
      const target = required(p, 3, "user@address[:port]", "agentd ssh hosts add");
      const m = /^([^@\s]+)@(\[[^\]]+\]|[^:@\s]+)(?::(\d+))?$/.exec(target);
      if (!m) throw new UsageError(`agentd ssh hosts add: the target is user@address[:port], got "${target}"`);
      const tunnelToken = p.values["tunnel-token-stdin"] ? (await text(process.stdin)).trim() : undefined;
      return withAdmin(input, p, async (app) => {
        const scope = app.tenants.scope((await app.tenants.require(tenant)).id);
        const added = await app.ssh.addHost(scope, {
          name,
          user: m[1] as string,
          address: (m[2] as string).replace(/^\[|\]$/g, ""),
          ...(m[3] ? { port: Number(m[3]) } : {}),
          ...(p.values.key ? { key: p.values.key as string } : {}),
          ...(p.values.tunnel ? { tunnelUrl: p.values.tunnel as string } : {}),
          ...(tunnelToken !== undefined ? { tunnelToken } : {}),
          ...(p.values.idempotent ? { idempotent: p.values.idempotent as unknown as string[] } : {}),
          ...(p.values.fingerprint ? { fingerprint: p.values.fingerprint as string } : {}),
        });
        const fp = added.presented.fingerprint;
        out(`${name} presented host key ${added.presented.type} ${fp}\n`);
        let confirmed = added.confirmed;
        if (
          !confirmed &&
          (p.values.yes || (process.stdin.isTTY && (await ask(`Is ${fp} the key of that machine? [y/N] `))))
        ) {
          await app.ssh.confirmHost(scope, name, fp);
          confirmed = true;
        }
        out(
          confirmed
            ? `pinned: every connection to ${name} checks this key\n`
            : `not confirmed: check it on the machine (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub), then \`agentd ssh hosts confirm --tenant ${tenant} ${name} ${fp}\`\n`,
        );
        out(`install this public key in ${m[1]}'s ~/.ssh/authorized_keys there:\n${added.publicKey}\n`);
        return 0;
      });
    }
    case "confirm": {
      const name = required(p, 2, "a host name", "agentd ssh hosts confirm");
      const fp = required(p, 3, "the fingerprint (SHA256:…)", "agentd ssh hosts confirm");
      return withAdmin(input, p, async (app) => {
        const h = await app.ssh.confirmHost(app.tenants.scope((await app.tenants.require(tenant)).id), name, fp);
        out(`pinned ${h.fingerprint} for ${name}\n`);
        return 0;
      });
    }
    case "remove": {
      const name = required(p, 2, "a host name", "agentd ssh hosts remove");
      return withAdmin(input, p, async (app) => {
        const gone = await app.ssh.removeHost(app.tenants.scope((await app.tenants.require(tenant)).id), name);
        if (!gone) throw notFound(`ssh host ${JSON.stringify(name)} of tenant ${tenant}`);
        out(`removed ssh host ${name}\n`);
        return 0;
      });
    }
    default:
      throw new UsageError(`agentd ssh hosts: unknown subcommand "${sub}"; use list, add, confirm or remove`);
  }
}

/** `agentd ssh key [name]`: the public key (made when missing), or a private key imported from stdin. */
async function key(input: CommandInput, p: Parsed): Promise<number> {
  const tenant = needTenant(p);
  const name = p.positionals[1] ?? "default";
  const passEnv = p.values["passphrase-env"] as string | undefined;
  const imported = p.values["import-stdin"] ? await text(process.stdin) : null;
  if (passEnv && imported === null) throw new UsageError("agentd ssh key: --passphrase-env goes with --import-stdin");
  const passphrase = passEnv ? input.env[passEnv] : undefined;
  if (passEnv && !passphrase) throw new UsageError(`agentd ssh key: $${passEnv} is empty`);
  return withAdmin(input, p, async (app) => {
    const scope = app.tenants.scope((await app.tenants.require(tenant)).id);
    const k =
      imported !== null
        ? await app.ssh.keys.import(scope, name, imported, passphrase)
        : await app.ssh.keys.ensure(scope, name);
    process.stdout.write(`${k.publicKey}\n`);
    return 0;
  });
}

async function ask(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

function needTenant(p: Parsed): string {
  const tenant = p.values.tenant as string | undefined;
  if (!tenant) throw new UsageError("agentd ssh needs --tenant <id> (list tenants with `agentd tenants`)");
  return tenant;
}

const row = (h: SshHost) => [
  h.name,
  `${h.user}@${h.address}:${h.port}`,
  h.fingerprint ?? `unconfirmed ${h.pendingFingerprint}`,
  h.key,
  h.tunnelUrl ?? "-",
  time(h.createdAt),
];
