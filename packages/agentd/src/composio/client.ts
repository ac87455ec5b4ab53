import type { Composio } from "@composio/core";
import { AgentdError } from "../errors.ts";
import type { ComposioConfig } from "./config.ts";

export type ComposioSdk = Composio;

/** How long one call to Composio may take; a tool's execution gets the call's own signal too. */
const TIMEOUT_MS = 30_000;

/**
 * `@composio/core` clients, one per API key (the operator's, each tenant's own), made on first use:
 * the SDK is imported then, not with agentd. No telemetry, no version check against npm; toolkit
 * versions are the operator's pins.
 */
export class ComposioClients {
  readonly #config: ComposioConfig;
  readonly #byKey = new Map<string, Promise<ComposioSdk>>();

  constructor(config: ComposioConfig) {
    this.#config = config;
  }

  get(apiKey: string): Promise<ComposioSdk> {
    let c = this.#byKey.get(apiKey);
    if (!c) {
      c = import("@composio/core").then(
        ({ Composio }) =>
          new Composio({
            apiKey,
            baseURL: this.#config.baseURL ?? null,
            allowTracking: false,
            disableVersionCheck: true,
            toolkitVersions: this.#config.versions,
          }),
      );
      // A key the operator or tenant replaced is dropped with the rest beyond a few: clients are cheap.
      if (this.#byKey.size >= 64) this.#byKey.delete(this.#byKey.keys().next().value as string);
      this.#byKey.set(apiKey, c);
    }
    return c;
  }
}

/** Request options for one call: bounded in time, and cancelled with the caller's signal. */
export const callOptions = (signal?: AbortSignal) => ({
  signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(TIMEOUT_MS)]) : AbortSignal.timeout(TIMEOUT_MS),
});

/** What Composio said, short and without the key: its status and `error.message`, or the SDK's own message. */
export function describeComposioError(e: unknown, key?: string): string {
  let status: number | undefined;
  let message: string | undefined;
  for (let c: unknown = e, depth = 0; c && depth < 5; c = (c as { cause?: unknown }).cause, depth++) {
    const x = c as { status?: unknown; error?: { error?: { message?: unknown } }; message?: unknown };
    if (typeof x.status === "number") status ??= x.status;
    const m = x.error?.error?.message;
    if (typeof m === "string") message ??= m;
  }
  if (!message) message = e instanceof Error ? e.message : String(e);
  let text = status ? `Composio answered ${status}: ${message}` : `Composio: ${message}`;
  if (key) text = text.replaceAll(key, "[key]");
  return text.replace(/\s+/g, " ").slice(0, 300);
}

/** The error a caller gets when Composio refused or failed, with what it said. */
export function composioFailed(e: unknown, key?: string): AgentdError {
  if (AgentdError.is(e)) return e;
  const status = (e as { status?: unknown }).status ?? (e as { cause?: { status?: unknown } }).cause?.status;
  const text = describeComposioError(e, key);
  if (status === 401 || status === 403)
    return new AgentdError("not_configured", `${text} (the Composio API key was refused: check it)`);
  if (status === 404) return new AgentdError("not_found", text);
  if (status === 400) return new AgentdError("bad_request", text);
  return new AgentdError("unavailable", `${text} (try again shortly)`);
}
