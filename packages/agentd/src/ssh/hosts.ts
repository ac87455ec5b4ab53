import { AgentdError, badRequest, notFound } from "../errors.ts";
import { serializeTenant } from "../tenancy/lock.ts";
import type { TenantScope } from "../tenancy/scope.ts";
import { MAX_PATTERN_CHARS } from "../agent/policy.ts";

/** A machine a tenant reaches over SSH, as stored: no secret is in it (keys and tokens live in the vault). */
export interface SshHost {
  name: string;
  address: string;
  port: number;
  user: string;
  /** The tenant's key this host is reached with (`default`, or one made for this host). */
  key: string;
  /** The pinned SHA-256 host key fingerprint: set once a person confirmed it; null until then. */
  fingerprint: string | null;
  /** What the host presented when it was added (or re-scanned), waiting for a person's confirmation. */
  pendingFingerprint: string | null;
  /** For hosts reachable over HTTPS only: the relay's wss:// (or ws://) URL; its token is in the vault. */
  tunnelUrl: string | null;
  /** Command patterns (policy globs) safe to run again when an attempt's outcome is unknown. */
  idempotent: string[];
  createdAt: number;
  updatedAt: number;
}

export interface NewHost {
  name: string;
  address: string;
  port?: number;
  user: string;
  key?: string;
  tunnelUrl?: string | null;
  idempotent?: string[];
}

const NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/;
/** A DNS name, an IPv4 address or an unbracketed IPv6 address: no spaces, no user@, no path. */
const ADDRESS = /^[A-Za-z0-9][A-Za-z0-9.:-]{0,252}$/;
const USER = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}$/;
export const MAX_HOSTS = 100;
const MAX_IDEMPOTENT = 50;

export function checkName(name: string, what = "a host name"): string {
  if (typeof name !== "string" || !NAME.test(name))
    throw badRequest(
      `${what} is 1-32 of a-z 0-9 _ - (starting with a letter or digit), got ${JSON.stringify(String(name).slice(0, 40))}`,
    );
  return name;
}

/** The vault's names for what a host needs (reserved `sys.` names: no tool and no secrets API call reads them). */
export const vaultNames = {
  key: (key: string) => `sys.ssh.key.${key}`,
  passphrase: (key: string) => `sys.ssh.pass.${key}`,
  tunnelToken: (host: string) => `sys.ssh.tunnel.${host}`,
};

export function checkHost(h: NewHost): Required<NewHost> {
  checkName(h.name);
  if (typeof h.address !== "string" || !ADDRESS.test(h.address))
    throw badRequest(
      `the address is a host name or an IP address (no user@, no port, no spaces), got ${JSON.stringify(String(h.address).slice(0, 80))}`,
    );
  const port = h.port ?? 22;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw badRequest(`the port is 1-65535, got ${port}`);
  if (typeof h.user !== "string" || !USER.test(h.user))
    throw badRequest(`the user is 1-32 of A-Z a-z 0-9 _ . - , got ${JSON.stringify(String(h.user).slice(0, 40))}`);
  const key = checkName(h.key ?? "default", "a key name");
  const tunnelUrl = h.tunnelUrl ?? null;
  if (tunnelUrl !== null) {
    let u: URL;
    try {
      u = new URL(tunnelUrl);
    } catch {
      throw badRequest(`the tunnel URL ${JSON.stringify(tunnelUrl.slice(0, 200))} is not a URL`);
    }
    if ((u.protocol !== "wss:" && u.protocol !== "ws:") || u.username || u.password || tunnelUrl.length > 2000)
      throw badRequest(
        "the tunnel URL is wss://host/path (ws:// for a relay on this machine), without credentials: its token goes in the vault",
      );
  }
  const idempotent = h.idempotent ?? [];
  if (!Array.isArray(idempotent) || idempotent.length > MAX_IDEMPOTENT)
    throw badRequest(`idempotent is a list of at most ${MAX_IDEMPOTENT} command patterns`);
  for (const p of idempotent)
    if (typeof p !== "string" || p === "" || p.length > MAX_PATTERN_CHARS)
      throw badRequest(
        `an idempotent command pattern is 1-${MAX_PATTERN_CHARS} characters (a glob: * any run of characters)`,
      );
  return { name: h.name, address: h.address, port, user: h.user, key, tunnelUrl, idempotent };
}

interface Row {
  name: string;
  address: string;
  port: number;
  username: string;
  key_name: string;
  fingerprint: string | null;
  pending_fingerprint: string | null;
  tunnel_url: string | null;
  idempotent: string;
  created_at: number;
  updated_at: number;
}

const COLUMNS =
  "name, address, port, username, key_name, fingerprint, pending_fingerprint, tunnel_url, idempotent, created_at, updated_at";

const toHost = (r: Row): SshHost => ({
  name: r.name,
  address: r.address,
  port: Number(r.port),
  user: r.username,
  key: r.key_name,
  fingerprint: r.fingerprint,
  pendingFingerprint: r.pending_fingerprint,
  tunnelUrl: r.tunnel_url,
  idempotent: JSON.parse(r.idempotent) as string[],
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at),
});

/** A tenant's SSH hosts (os_ssh_hosts); every statement is scoped to the tenant. */
export const sshHosts = {
  async list(scope: TenantScope): Promise<SshHost[]> {
    return (await scope.all<Row>(`SELECT ${COLUMNS} FROM os_ssh_hosts WHERE tenant_id = $tenant ORDER BY name`)).map(
      toHost,
    );
  },

  async get(scope: TenantScope, name: string): Promise<SshHost | null> {
    const r = await scope.get<Row>(`SELECT ${COLUMNS} FROM os_ssh_hosts WHERE tenant_id = $tenant AND name = ?`, [
      name,
    ]);
    return r ? toHost(r) : null;
  },

  async require(scope: TenantScope, name: string): Promise<SshHost> {
    const h = await this.get(scope, name);
    if (!h)
      throw notFound(
        `ssh host ${JSON.stringify(name.slice(0, 40))} (list them with GET /v1/ssh/hosts or agentd ssh hosts list)`,
      );
    return h;
  },

  /** Adds a host (or replaces one of that name) with the fingerprint it presented, pending a person's confirmation. */
  async put(scope: TenantScope, h: Required<NewHost>, presented: string, now: number): Promise<SshHost> {
    return scope.tx(async (tx) => {
      await serializeTenant(tx);
      const n = await tx.get<{ n: number }>(
        "SELECT COUNT(*) AS n FROM os_ssh_hosts WHERE tenant_id = $tenant AND name <> ?",
        [h.name],
      );
      if (Number(n?.n) >= MAX_HOSTS)
        throw badRequest(`this tenant has ${MAX_HOSTS} ssh hosts, the most it may keep; remove one first`);
      await tx.run("DELETE FROM os_ssh_hosts WHERE tenant_id = $tenant AND name = ?", [h.name]);
      await tx.run(
        `INSERT INTO os_ssh_hosts (tenant_id, ${COLUMNS}) VALUES ($tenant, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?)`,
        [h.name, h.address, h.port, h.user, h.key, presented, h.tunnelUrl, JSON.stringify(h.idempotent), now, now],
      );
      return (await sshHosts.require(tx, h.name)) as SshHost;
    });
  },

  /**
   * Pins the fingerprint a person confirmed. It must be the one the host presented when added: a
   * person confirms what they were shown, and a different one means the host changed in between.
   */
  async confirm(scope: TenantScope, name: string, fingerprint: string, now: number): Promise<SshHost> {
    const h = await this.require(scope, name);
    if (h.pendingFingerprint === null) {
      if (h.fingerprint === fingerprint) return h;
      throw new AgentdError(
        "conflict",
        `ssh host ${name} has no host key waiting for confirmation; add it again to re-scan its key`,
      );
    }
    if (h.pendingFingerprint !== fingerprint)
      throw new AgentdError(
        "host_key_mismatch",
        `ssh host ${name} presented ${h.pendingFingerprint}, not ${fingerprint}: check the fingerprint on the machine (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub) before confirming`,
      );
    await scope.run(
      "UPDATE os_ssh_hosts SET fingerprint = ?, pending_fingerprint = NULL, updated_at = ? WHERE tenant_id = $tenant AND name = ?",
      [fingerprint, now, name],
    );
    return this.require(scope, name);
  },

  async setIdempotent(scope: TenantScope, name: string, patterns: string[], now: number): Promise<SshHost> {
    const h = await this.require(scope, name);
    const checked = checkHost({ ...h, idempotent: patterns });
    await scope.run("UPDATE os_ssh_hosts SET idempotent = ?, updated_at = ? WHERE tenant_id = $tenant AND name = ?", [
      JSON.stringify(checked.idempotent),
      now,
      name,
    ]);
    return this.require(scope, name);
  },

  async remove(scope: TenantScope, name: string): Promise<boolean> {
    return (await scope.run("DELETE FROM os_ssh_hosts WHERE tenant_id = $tenant AND name = ?", [name])).changes > 0;
  },
};
