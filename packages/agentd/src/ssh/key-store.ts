import { AgentdError, notFound } from "../errors.ts";
import type { TenantScope } from "../tenancy/scope.ts";
import type { Vault } from "../vault/vault.ts";
import { checkName, vaultNames } from "./hosts.ts";
import { generateKeyPair, publicKeyOf } from "./keys.ts";

/** What anyone sees of a tenant's SSH key: its public line, never the private half. */
export interface SshKeyInfo {
  name: string;
  publicKey: string;
  origin: "generated" | "imported";
  createdAt: number;
}

/** The private half and its passphrase, read from the vault at call time only. */
export interface PrivateKey {
  privateKey: string;
  passphrase?: string;
}

const MAX_KEYS = 100;

/**
 * A tenant's SSH keys: the public line in os_ssh_keys, the private key and any passphrase in the
 * vault under reserved names (tools and the secrets API cannot read them; only `open` does, for ssh2).
 */
export class SshKeys {
  readonly #vault: Vault;
  readonly #now: () => number;

  constructor(vault: Vault, now: () => number) {
    this.#vault = vault;
    this.#now = now;
  }

  async list(scope: TenantScope): Promise<SshKeyInfo[]> {
    const rows = await scope.all<{ name: string; public_key: string; origin: string; created_at: number }>(
      "SELECT name, public_key, origin, created_at FROM os_ssh_keys WHERE tenant_id = $tenant ORDER BY name",
    );
    return rows.map((r) => ({
      name: r.name,
      publicKey: r.public_key,
      origin: r.origin as SshKeyInfo["origin"],
      createdAt: Number(r.created_at),
    }));
  }

  async get(scope: TenantScope, name: string): Promise<SshKeyInfo | null> {
    return (await this.list(scope)).find((k) => k.name === name) ?? null;
  }

  /** The key of that name, made (ed25519) if the tenant has none yet: what `hosts add` uses. */
  async ensure(scope: TenantScope, name: string): Promise<SshKeyInfo> {
    return (await this.get(scope, name)) ?? this.generate(scope, name);
  }

  /** A new ed25519 pair under that name (replacing any): the private half goes to the vault. */
  async generate(scope: TenantScope, name: string): Promise<SshKeyInfo> {
    checkName(name, "a key name");
    const pair = generateKeyPair(`agentd-${name}`);
    return this.#store(scope, name, pair.privateKey, undefined, pair.publicKey, "generated");
  }

  /** A private key the person already has (OpenSSH or PEM, optionally with its passphrase). */
  async import(scope: TenantScope, name: string, privateKey: string, passphrase?: string): Promise<SshKeyInfo> {
    checkName(name, "a key name");
    const publicKey = `${publicKeyOf(privateKey, passphrase)} agentd-${name}`;
    return this.#store(scope, name, privateKey, passphrase, publicKey, "imported");
  }

  async #store(
    scope: TenantScope,
    name: string,
    privateKey: string,
    passphrase: string | undefined,
    publicKey: string,
    origin: SshKeyInfo["origin"],
  ): Promise<SshKeyInfo> {
    const count = (await this.list(scope)).filter((k) => k.name !== name).length;
    if (count >= MAX_KEYS)
      throw new AgentdError("bad_request", `this tenant has ${MAX_KEYS} ssh keys, the most it may keep`);
    await this.#vault.put(scope, vaultNames.key(name), privateKey);
    if (passphrase) await this.#vault.put(scope, vaultNames.passphrase(name), passphrase);
    else await this.#vault.delete(scope, vaultNames.passphrase(name)).catch(() => {});
    const now = this.#now();
    await scope.tx(async (tx) => {
      await tx.run("DELETE FROM os_ssh_keys WHERE tenant_id = $tenant AND name = ?", [name]);
      await tx.run(
        "INSERT INTO os_ssh_keys (tenant_id, name, public_key, origin, created_at) VALUES ($tenant, ?, ?, ?, ?)",
        [name, publicKey, origin, now],
      );
    });
    return { name, publicKey, origin, createdAt: now };
  }

  /** The private key for ssh2, read from this tenant's vault now; never cached, never logged. */
  async open(scope: TenantScope, name: string): Promise<PrivateKey> {
    const privateKey = await this.#vault.get(scope, vaultNames.key(name));
    if (privateKey === null)
      throw notFound(`ssh key ${JSON.stringify(name)} (make one with agentd ssh key ${name}, or POST /v1/ssh/keys)`);
    const passphrase = await this.#vault.get(scope, vaultNames.passphrase(name));
    return passphrase === null ? { privateKey } : { privateKey, passphrase };
  }

  async remove(scope: TenantScope, name: string): Promise<boolean> {
    const { changes } = await scope.run("DELETE FROM os_ssh_keys WHERE tenant_id = $tenant AND name = ?", [name]);
    for (const v of [vaultNames.key(name), vaultNames.passphrase(name)])
      await this.#vault.delete(scope, v).catch(() => {});
    return changes > 0;
  }
}
