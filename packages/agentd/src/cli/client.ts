import { type AgentdClient, agentdClient } from "../api/client.ts";
import { CliError } from "./errors.ts";

/** One Server-Sent Event: its name (`message` when unnamed), its data parsed as JSON, its id. */
export interface SseEvent {
  event: string;
  data: unknown;
  id: string | null;
}

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

  constructor(url: string, token: string) {
    this.url = url.replace(/\/+$/, "");
    this.api = agentdClient(this.url, {
      token,
      tenant: () => this.tenant,
      fetch: (input, init) => this.#send(input, init),
    });
  }

  async #send(input: string | URL | Request, init?: RequestInit): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(input, init);
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

/** What went wrong with a request that got no answer, in words. */
export function networkCause(e: unknown): string {
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  const code = cause?.code ?? (e as { code?: string }).code;
  if (code === "ECONNREFUSED") return "connection refused (nothing listens there)";
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") return "the host name does not resolve";
  if (code === "ECONNRESET") return "the connection was cut";
  if (code === "UND_ERR_CONNECT_TIMEOUT" || (e as Error).name === "TimeoutError") return "no answer in time";
  return cause?.message ?? (e as Error).message ?? String(e);
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
  return new CliError(`${method} ${url} answered HTTP ${res.status}${reason ? `: ${reason}` : ""}`, {
    code: "cli_refused",
    status: res.status,
    serverCode,
  });
}

/** Parses a text/event-stream body into events, yielding each as soon as its blank line arrives. */
export async function* readSse(body: ReadableStream<Uint8Array>): AsyncGenerator<SseEvent> {
  let buffer = "";
  let event = "";
  let data: string[] = [];
  let id: string | null = null;
  for await (const text of body.pipeThrough(new TextDecoderStream())) {
    buffer += text;
    let nl: number;
    while ((nl = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, nl).replace(/\r$/, "");
      buffer = buffer.slice(nl + 1);
      if (line === "") {
        if (data.length > 0) yield { event: event || "message", data: parseData(data.join("\n")), id };
        event = "";
        data = [];
        continue;
      }
      if (line.startsWith(":")) continue; // a comment: keep-alive
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "event") event = value;
      else if (field === "data") data.push(value);
      else if (field === "id") id = value;
    }
  }
}

function parseData(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return s;
  }
}
