import type { Agentd } from "../app.ts";
import { createApi } from "../api/create.ts";
import type { CommandInput, Parsed } from "./args.ts";
import { ApiClient, IN_PROCESS_URL } from "./client.ts";
import { withAdmin } from "./store.ts";

/**
 * Runs `fn` with agentd's HTTP API answering in this process, on the store opened directly, as the
 * operator (the admin token), acting for `tenant` on tenant routes: the CLI does what the API does
 * through the very same routes, checks and answers, with no agentd running. A refusal is a CliError
 * carrying the API's reason and code (not_found: exit code 3).
 */
export function withApi<T>(
  input: CommandInput,
  p: Parsed,
  tenant: string | null,
  fn: (client: ApiClient, app: Agentd) => Promise<T>,
): Promise<T> {
  return withAdmin(input, p, async (app) => {
    const api = createApi(app);
    const client = new ApiClient(IN_PROCESS_URL, app.config.adminToken, (i, init) =>
      Promise.resolve(api.request(i instanceof URL ? i.href : i, init)),
    );
    client.tenant = tenant;
    return fn(client, app);
  });
}
