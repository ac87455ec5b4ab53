import { z } from "zod";
import { AgentdError } from "../../errors.ts";
import { type SshHost, sshHosts } from "../../ssh/hosts.ts";
import type { SshService } from "../../ssh/service.ts";
import type { Tool } from "../types.ts";

// Names are checked where hosts are stored (ssh/hosts.ts): the schema the model reads stays small.
const NAME = z.string().max(32);

const AddArgs = z.object({
  name: NAME,
  address: z.string().min(1).max(253),
  port: z.number().int().min(1).max(65535).optional(),
  user: z.string().min(1).max(32),
  key: NAME.optional(),
});
const ConfirmArgs = z.object({
  name: NAME,
  fingerprint: z.string().max(100),
  at: z.string().max(2100).describe("where the host is, as ssh_host_add answered"),
});

/** Where a host is, as the person reads it in the approval: `user@address:port`, and the relay it is reached through. */
export const whereOf = (h: Pick<SshHost, "user" | "address" | "port" | "tunnelUrl">) =>
  `${h.user}@${h.address}:${h.port}${h.tunnelUrl ? ` via ${h.tunnelUrl}` : ""}`;

/** ssh_hosts: the tenant's hosts (pinned or waiting) and the public keys to install on them. */
export function sshHostsTool(ssh: SshService): Tool<Record<string, never>> {
  return {
    name: "ssh_hosts",
    description: "List SSH hosts, their pinned host keys and the public keys to install.",
    input: z.object({}) as unknown as z.ZodType<Record<string, never>>,
    risk: "low",
    defaultDecision: "allow",
    async run(_a, ctx) {
      const hosts = await sshHosts.list(ctx.tenant);
      const keys = await ssh.keys.list(ctx.tenant);
      return {
        hosts: hosts.map((h) => ({
          name: h.name,
          address: `${h.user}@${h.address}:${h.port}`,
          ...(h.tunnelUrl ? { tunnel: h.tunnelUrl } : {}),
          pinned: h.fingerprint,
          ...(h.pendingFingerprint ? { waitingForConfirmation: h.pendingFingerprint } : {}),
          key: h.key,
        })),
        publicKeys: keys.map((k) => ({ name: k.name, publicKey: k.publicKey })),
      };
    },
  };
}

/**
 * ssh_host_add: records a host and the host key it presents, unconfirmed: the answer gives the
 * fingerprint for the person to check and the public key to install. Nothing runs on it until a
 * person confirms (ssh_host_confirm, which asks them).
 */
export function sshHostAddTool(ssh: SshService): Tool<z.infer<typeof AddArgs>> {
  return {
    name: "ssh_host_add",
    description:
      "Add an SSH host: reads its host key fingerprint for the user to confirm; shows the public key to install.",
    input: AddArgs,
    risk: "medium",
    defaultDecision: "allow",
    timeoutMs: 30_000,
    subject: (a) => `${a.user}@${a.address}:${a.port ?? 22} as ${a.name}`,
    async run(a, ctx) {
      const added = await ssh.addHost(ctx.tenant, a, ctx.signal);
      return {
        name: a.name,
        hostKey: `${added.presented.type} ${added.presented.fingerprint}`,
        at: whereOf(added.host),
        confirm:
          "show the user this fingerprint; they check it on the machine (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub) and confirm with ssh_host_confirm (name, fingerprint and at as given here)",
        installPublicKey: added.publicKey,
      };
    },
  };
}

/**
 * ssh_host_confirm: pins the presented fingerprint; the person approves it. The approval shows the
 * fingerprint, the host's name and where it is (`at`, checked against the stored host before pinning:
 * a host the agent re-added elsewhere is never pinned under the address the person was shown).
 */
export function sshHostConfirmTool(ssh: SshService): Tool<z.infer<typeof ConfirmArgs>> {
  const subject = (a: z.infer<typeof ConfirmArgs>) => `pin host key ${a.fingerprint} for ${a.name} at ${a.at}`;
  return {
    name: "ssh_host_confirm",
    description: "Pin an added SSH host's fingerprint (the user approves).",
    input: ConfirmArgs,
    risk: "high",
    defaultDecision: "ask",
    subject,
    always: (a) => ({ pattern: subject(a).replaceAll("*", "?"), shown: "this exact fingerprint for this host" }),
    async run(a, ctx) {
      const stored = await sshHosts.require(ctx.tenant, a.name);
      if (whereOf(stored) !== a.at)
        throw new AgentdError(
          "conflict",
          `ssh host ${a.name} is ${whereOf(stored)}, not ${a.at}: nothing was pinned; ask the user to confirm again with where it is now`,
        );
      const h = await ssh.confirmHost(ctx.tenant, a.name, a.fingerprint);
      return { name: h.name, pinned: h.fingerprint, at: whereOf(h) };
    },
  };
}
