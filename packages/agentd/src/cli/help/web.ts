// `agentd web`: what a tenant's web_search and browser tools work with.
import { DATA, JSON_LINE, STORE_ENV } from "./common.ts";

export const WEB_HELP = `Usage: agentd web [show] --tenant <id> [--json]
       agentd web forget --tenant <id> [<profile>]

What a tenant's web tools work with: the search provider its searches go to (its own, with its key
in its vault, or the deployment's) and the browser profile kept between steps (the sites it is
signed in to and its open pages by origin; never a cookie's value).

  show                  the search provider and the browser profile (the default)
  forget [<profile>]    deletes the browser profile (default: default): every site is signed out

Options:
  --tenant <id>         the tenant
${JSON_LINE}
${DATA}

Opens the store directly (no running agentd needed) and does what the API does, through the same
routes in this process: the same checks and errors.

Environment:
${STORE_ENV}
`;
