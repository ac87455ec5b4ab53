import { type AgentdClient, agentdClient } from "../api/client.ts";
import { networkCause } from "../net/cause.ts";
import { CliError } from "./errors.ts";

export { readSse, type SseEvent } from "../api/read-sse.ts";
export { networkCause };

/** The URL of the API answering in this process (`agentd tenants`, `memory`…): its refusals print as the reason alone. */
export const IN_PROCESS_URL = "http://in-process.agentd";

/**
 * A client of agentd's HTTP API with one token; for the admin token, `tenant` names the tenant routes
 * act for. `api` is the typed client (api/client.ts): its calls answer only with success, as an
 * error answer becomes a CliError that names the request and quotes the server's reason, and no
 * answer at all a CliError that says why.
 */
export class ApiClient {
  readonly url: string;
  readonly api: AgentdClient;
  tenant: string | null = null;

  readonly #fetch: typeof fetch;

  /** `send`: what carries the requests (an API app's `request`, in this process); `fetch` by default. */
  constructor(url: string, token: string, send: typeof fetch = fetch) {
    this.url = url.replace(/\/+$/, "");
    this.#fetch = send;
    this.api = agentdClient(this.url, {
      token,
      tenant: () => this.tenant,
      fetch: (input, init) => this.#send(input, init),
    });
  }

  async #send(input: string | URL | Request, init?: RequestInit): Promise<Response> {
    let res: Response;
    try {
      res = await this.#fetch(input, init);
    } catch (e) {
      throw new CliError(`cannot reach agentd at ${this.url}: ${networkCause(e)}`, {
        cause: e,
        code: "cli_unreachable",
      });
    }
    if (!res.ok) throw await refusal(init?.method ?? "GET", String(input instanceof Request ? input.url : input), res);
    return res;
  }
}

/** True when the error says nothing listens at the address (so there is no server to talk to). */
export function isUnreachable(e: unknown): boolean {
  const cause = (e as { cause?: { code?: string } }).cause;
  return cause?.code === "ECONNREFUSED" || (e as { code?: string }).code === "ECONNREFUSED";
}

async function refusal(method: string, url: string, res: Response): Promise<CliError> {
  let reason = "";
  let serverCode: string | null = null;
  try {
    const body = (await res.json()) as { error?: { code?: unknown; message?: string } };
    reason = body.error?.message ?? "";
    if (typeof body.error?.code === "string") serverCode = body.error.code;
  } catch {
    // not our JSON: the status says enough
  }
  const message = url.startsWith(IN_PROCESS_URL)
    ? reason || `the request was refused (HTTP ${res.status})`
    : `${method} ${url} answered HTTP ${res.status}${reason ? `: ${reason}` : ""}`;
  return new CliError(message, {
    code: "cli_refused",
    status: res.status,
    serverCode,
  });
}
