// `agentd connections`.
import { envHelp } from "../../config/docs.ts";
import { DATA, JSON_LINE } from "./common.ts";

export const CONNECTIONS_HELP = `Usage: agentd connections [list] --tenant <id> [--json]
       agentd connections apps --tenant <id> [--json]
       agentd connections apps add --tenant <id> <name> [--file <app.json>] [--json]   (else JSON on stdin)
       agentd connections apps remove --tenant <id> <name>
       agentd connections connect --tenant <id> <name>
       agentd connections test --tenant <id> <name>
       agentd connections remove --tenant <id> <name>

A tenant's OAuth connections (GitHub, Google, any OAuth 2 / OpenID Connect app the operator lists
in AGENTD_OAUTH_APPS or the tenant adds at /v1/oauth-apps). Their tokens live sealed in the
tenant's vault and are never printed; http_request uses one with "connection": "<name>".

  list                  the connections: name, app, account, status (active, needs_reconnect),
                        when the access token expires
  apps                  the apps the tenant may connect (never a client secret)
  apps add <name>       an app of the tenant's own, read as JSON from stdin or --file (so its client
                        secret is not on the command line): {"clientId", "clientSecret", "issuer" or
                        "authorizationUrl" + "tokenUrl", "scopes", "apiHosts"}; the secret is
                        sealed in the tenant's vault (PUT /v1/oauth-apps/<name>)
  apps remove <name>    removes an app of the tenant's own
  connect <name>        prints a link (authorization code + PKCE) for the person to open; the
                        provider sends them back to $AGENTD_PUBLIC_URL/oauth/callback, which
                        stores the tokens. In a chat, the agent sends this link by itself.
  test <name>           a valid token (refreshed if due) and the app's test URL or userinfo called
  remove <name>         revokes the tokens at the provider when it can, then forgets them

Options:
  --tenant <id>         the tenant the connection belongs to
  --file <app.json>     apps add: the app's JSON from this file instead of stdin
${JSON_LINE}
${DATA}

Opens the store directly: no running agentd needed. The same is offered over HTTP:
GET /v1/connections, POST /v1/connections/<name>/test, DELETE /v1/connections/<name>.

Environment:
${envHelp(["store", "connections", "AGENTD_PUBLIC_URL"])}
`;
