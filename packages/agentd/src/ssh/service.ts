import { AgentdError } from "../errors.ts";
import type { NetPolicy } from "../net/policy.ts";
import type { TenantScope } from "../tenancy/scope.ts";
import type { Vault } from "../vault/vault.ts";
import { connect, scanHostKey, type Target } from "./connect.ts";
import { type ExecOptions, type ExecResult, execCommand } from "./exec.ts";
import { checkHost, type NewHost, type SshHost, sshHosts, vaultNames } from "./hosts.ts";
import { SshKeys, type SshKeyInfo } from "./key-store.ts";
import { normalizeFingerprint } from "./keys.ts";
import { type PoolOptions, SshPool } from "./pool.ts";
import type ssh2 from "ssh2";

export interface SshServiceOptions {
  vault: Vault;
  net: NetPolicy;
  now: () => number;
  pool?: PoolOptions;
  /** Handshake bound (default 15 s). */
  connectTimeoutMs?: number;
}

/** What adding a host answers: the key the host presented (to confirm) and the public key to install on it. */
export interface AddedHost {
  host: SshHost;
  presented: { fingerprint: string; type: string };
  publicKey: string;
  /** True when the fingerprint given with the request was the one presented: the host is pinned already. */
  confirmed: boolean;
}

/**
 * SSH for tenants: their hosts and keys, and commands run on pinned hosts with the tenant's key read
 * from the vault at call time. One per process (its connection pool is per worker).
 */
export class SshService {
  readonly keys: SshKeys;
  readonly pool: SshPool;
  readonly #vault: Vault;
  readonly #net: NetPolicy;
  readonly #now: () => number;
  readonly #timeoutMs: number;

  constructor(o: SshServiceOptions) {
    this.#vault = o.vault;
    this.#net = o.net;
    this.#now = o.now;
    this.#timeoutMs = o.connectTimeoutMs ?? 15_000;
    this.keys = new SshKeys(o.vault, o.now);
    this.pool = new SshPool(o.pool);
  }

  /**
   * Adds (or re-adds) a host: makes its key if the tenant has none of that name, keeps the tunnel
   * token in the vault, reads the host key the host presents and records it pending confirmation;
   * `fingerprint`, when given and equal to it, confirms at once.
   */
  async addHost(
    scope: TenantScope,
    input: NewHost & { tunnelToken?: string; fingerprint?: string },
    signal?: AbortSignal,
  ): Promise<AddedHost> {
    const h = checkHost(input);
    const expected = input.fingerprint ? normalizeFingerprint(input.fingerprint) : null;
    if (input.tunnelToken !== undefined) {
      if (h.tunnelUrl === null) throw new AgentdError("bad_request", "a tunnel token needs a tunnel URL (tunnelUrl)");
      await this.#vault.put(scope, vaultNames.tunnelToken(h.name), input.tunnelToken);
    }
    const key: SshKeyInfo = await this.keys.ensure(scope, h.key);
    const token = h.tunnelUrl ? await this.#vault.get(scope, vaultNames.tunnelToken(h.name)) : null;
    const presented = await scanHostKey(h, token, {
      net: this.#net,
      timeoutMs: this.#timeoutMs,
      ...(signal ? { signal } : {}),
    });
    const now = this.#now();
    let host = await sshHosts.put(scope, h, presented.fingerprint, now);
    if (expected !== null) {
      if (expected !== presented.fingerprint)
        throw new AgentdError(
          "host_key_mismatch",
          `ssh host ${h.name} presented ${presented.fingerprint}, not the ${expected} you gave: it is recorded unconfirmed; check the machine before confirming`,
        );
      host = await sshHosts.confirm(scope, h.name, expected, now);
    }
    return { host, presented, publicKey: key.publicKey, confirmed: host.fingerprint !== null };
  }

  async hosts(scope: TenantScope): Promise<SshHost[]> {
    return sshHosts.list(scope);
  }

  async confirmHost(scope: TenantScope, name: string, fingerprint: string): Promise<SshHost> {
    return sshHosts.confirm(scope, name, normalizeFingerprint(fingerprint), this.#now());
  }

  async removeHost(scope: TenantScope, name: string): Promise<boolean> {
    await this.#vault.delete(scope, vaultNames.tunnelToken(name)).catch(() => {});
    return sshHosts.remove(scope, name);
  }

  /** A confirmed host of this tenant, or an error saying what to do. */
  async pinnedHost(scope: TenantScope, name: string): Promise<SshHost & { fingerprint: string }> {
    const host = await sshHosts.require(scope, name);
    if (host.fingerprint === null)
      throw new AgentdError(
        "conflict",
        `ssh host ${name}'s host key (${host.pendingFingerprint}) is not confirmed yet: a person confirms it first (agentd ssh hosts confirm ${name} <fingerprint>, or POST /v1/ssh/hosts/${name}/confirm)`,
      );
    return host as SshHost & { fingerprint: string };
  }

  /**
   * Runs `use` on a connection to a confirmed host, reusing the one this run opened (`reuse` names
   * the run). The key and tunnel token are read from the tenant's vault when a connection opens.
   */
  async withConnection<T>(
    scope: TenantScope,
    host: SshHost & { fingerprint: string },
    reuse: string,
    use: (c: ssh2.Client, poolKey: string) => Promise<T>,
    signal?: AbortSignal,
  ): Promise<T> {
    const poolKey = JSON.stringify([
      scope.tenantId,
      host.name,
      host.fingerprint,
      host.address,
      host.port,
      host.user,
      host.key,
      host.tunnelUrl,
      reuse,
    ]);
    return this.pool.with(
      poolKey,
      async () => {
        const creds = await this.keys.open(scope, host.key);
        const tunnelToken = host.tunnelUrl ? await this.#vault.get(scope, vaultNames.tunnelToken(host.name)) : null;
        return connect(
          host as Target,
          host.fingerprint,
          { ...creds, tunnelToken },
          {
            net: this.#net,
            timeoutMs: this.#timeoutMs,
            ...(signal ? { signal } : {}),
          },
        );
      },
      (c) => use(c, poolKey),
    );
  }

  /** One command on a confirmed host; a command that timed out leaves its connection closed (it may still hold the channel). */
  async exec(scope: TenantScope, name: string, command: string, reuse: string, o: ExecOptions): Promise<ExecResult> {
    const host = await this.pinnedHost(scope, name);
    return this.withConnection(
      scope,
      host,
      reuse,
      async (c, key) => {
        const r = await execCommand(c, command, o);
        if (r.timedOut || o.signal?.aborted) this.pool.drop(key);
        return r;
      },
      o.signal,
    );
  }

  close(): void {
    this.pool.close();
  }
}
