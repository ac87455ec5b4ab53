import { AgentdError } from "../errors.ts";
import type { TenantScope } from "../tenancy/scope.ts";
import type { Vault } from "../vault/vault.ts";
import type { ComposioClients, ComposioSdk } from "./client.ts";
import { composioUserId } from "./user.ts";

/** The vault secret holding a tenant's own Composio API key (it goes before the operator's). */
export const TENANT_KEY_SECRET = "COMPOSIO_API_KEY";

/** Postgres: whether the tenant stored its own key, an expression `ComposioAccess.has` takes the value of. */
export const HAS_TENANT_KEY = `EXISTS (SELECT 1 FROM os_secrets WHERE tenant_id = $tenant AND name = '${TENANT_KEY_SECRET}')`;

/** One tenant's way into Composio: the client for its key, the key (to keep out of messages), its user. */
export interface TenantComposio {
  sdk: ComposioSdk;
  key: string;
  userId: string;
}

/** Which key a tenant uses: its own from the vault, else the operator's, else none (Composio is off for it). */
export class ComposioAccess {
  readonly #clients: ComposioClients;
  readonly #vault: Vault;
  readonly #operatorKey: string | undefined;

  constructor(o: { clients: ComposioClients; vault: Vault; operatorKey: string | undefined }) {
    this.#clients = o.clients;
    this.#vault = o.vault;
    this.#operatorKey = o.operatorKey;
  }

  async key(scope: TenantScope): Promise<string | null> {
    return (await this.#vault.get(scope, TENANT_KEY_SECRET)) || this.#operatorKey || null;
  }

  /**
   * Whether the tenant has a key, without opening its own (`HAS_TENANT_KEY`'s value when a turn's view
   * read it along; undefined: read here). The vault refuses empty values, so a stored key is a key.
   */
  async has(scope: TenantScope, hasOwn?: unknown): Promise<boolean> {
    if (this.#operatorKey) return true;
    return typeof hasOwn === "boolean" ? hasOwn : Boolean(await this.#vault.get(scope, TENANT_KEY_SECRET));
  }

  async for(scope: TenantScope): Promise<TenantComposio> {
    const key = await this.key(scope);
    if (!key)
      throw new AgentdError(
        "not_configured",
        `Composio is not set up for this tenant: the operator sets AGENTD_COMPOSIO_API_KEY, or the tenant stores its own key in the vault as ${TENANT_KEY_SECRET}`,
      );
    return { sdk: await this.#clients.get(key), key, userId: composioUserId(scope.tenantId) };
  }
}
