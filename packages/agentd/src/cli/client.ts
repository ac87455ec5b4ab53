import { CliError } from "./errors.ts";

/** One Server-Sent Event: its name (`message` when unnamed), its data parsed as JSON, its id. */
export interface SseEvent {
  event: string;
  data: unknown;
  id: string | null;
}

/** A client of agentd's HTTP API with one token; for the admin token, `tenant` names the tenant routes act for. */
export class ApiClient {
  readonly url: string;
  readonly #token: string;
  tenant: string | null = null;

  constructor(url: string, token: string) {
    this.url = url.replace(/\/+$/, "");
    this.#token = token;
  }

  /** A JSON request; an error answer becomes a CliError that names the request and quotes the server's reason. */
  async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.#fetch(method, path, body, "application/json");
    if (!res.ok) throw await refusal(method, this.url + path, res);
    return (res.status === 204 ? undefined : await res.json()) as T;
  }

  /** A request answered with Server-Sent Events, read as they arrive. */
  async *stream(method: string, path: string, body?: unknown, signal?: AbortSignal): AsyncGenerator<SseEvent> {
    const res = await this.#fetch(method, path, body, "text/event-stream", signal);
    if (!res.ok) throw await refusal(method, this.url + path, res);
    if (!res.body) return;
    yield* readSse(res.body);
  }

  async #fetch(method: string, path: string, body: unknown, accept: string, signal?: AbortSignal): Promise<Response> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.#token}`, accept };
    if (body !== undefined) headers["content-type"] = "application/json";
    if (this.tenant) headers["x-agentd-tenant"] = this.tenant;
    try {
      return await fetch(this.url + path, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }), ...(signal ? { signal } : {}) });
    } catch (e) {
      throw new CliError(`cannot reach agentd at ${this.url}: ${networkCause(e)}`, { cause: e, code: "cli_unreachable" });
    }
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
  return new CliError(`${method} ${url} answered HTTP ${res.status}${reason ? `: ${reason}` : ""}`, { code: "cli_refused", status: res.status, serverCode });
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
