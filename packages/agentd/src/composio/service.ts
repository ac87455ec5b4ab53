import type { ConnectionsPort } from "../connections/port.ts";
import type { TenantScope } from "../tenancy/scope.ts";
import { ComposioAccess } from "./access.ts";
import { type AccountsOptions, ComposioAccounts, CONNECTION_PREFIX } from "./accounts.ts";
import { ComposioClients } from "./client.ts";
import type { ComposioConfig } from "./config.ts";
import { ComposioSource } from "./source.ts";
import { ComposioTools } from "./tools.ts";

export interface ComposioOptions extends Omit<AccountsOptions, "access"> {
  config: ComposioConfig;
}

/** Composio for every tenant: the key each uses, its accounts and links, its toolkits' tools, the source the turn lists. */
export class ComposioService {
  readonly access: ComposioAccess;
  readonly accounts: ComposioAccounts;
  readonly tools: ComposioTools;
  readonly source: ComposioSource;

  constructor(o: ComposioOptions) {
    this.access = new ComposioAccess({
      clients: new ComposioClients(o.config),
      vault: o.vault,
      operatorKey: o.config.apiKey,
    });
    this.accounts = new ComposioAccounts({ ...o, access: this.access });
    this.tools = new ComposioTools({ access: this.access, versions: o.config.versions });
    this.source = new ComposioSource({ access: this.access, accounts: this.accounts, tools: this.tools });
  }

  /** Whether the tenant can use Composio (a key of its own or the operator's). */
  async enabled(scope: TenantScope): Promise<boolean> {
    return (await this.access.key(scope)) !== null;
  }
}

/**
 * The connections the tool-call chain sees: `composio:<toolkit>` names go to Composio (its account
 * ACTIVE, or a Connect Link and the same durable wait as an OAuth app's), every other name to agentd's
 * own OAuth connections.
 */
export function withComposio(base: ConnectionsPort, accounts: ComposioAccounts): ConnectionsPort {
  const mine = (name: string) => name.startsWith(CONNECTION_PREFIX);
  return {
    prepare: (scope, name) =>
      mine(name) ? accounts.prepare(scope, name.slice(CONNECTION_PREFIX.length)) : base.prepare(scope, name),
    begin: (scope, p) =>
      mine(p.connection)
        ? accounts.begin(scope, { id: p.id, toolkit: p.app, runId: p.runId, sessionId: p.sessionId })
        : base.begin(scope, p),
    bearer: (scope, name) => base.bearer(scope, name),
    list: (scope) => base.list(scope),
    test: (scope, name) => base.test(scope, name),
    remove: (scope, name) => base.remove(scope, name),
  };
}
