/**
 * The one base of every error agentd throws (the kernel's have their own, `KernelError`). Each has a
 * string `code` from the closed list below and a message that says what happened and what to do.
 * An error carries no HTTP status: the API maps codes to statuses in one table (src/api/errors.ts).
 *
 * Identity checks use `is()`, never `instanceof`: two copies of agentd in one process (a duplicate
 * install, a bundler) each have their own classes, so `instanceof` fails across them. Every error
 * carries, under the registered symbol `Symbol.for("agentd.error")`, the names of its class and its
 * ancestors; `X.is(e)` looks for X's name there, which any copy finds.
 */
const MARK = Symbol.for("agentd.error");

/** Every code an agentd error can have; the list is the union `AgentdErrorCode`, so tables over codes can be checked complete. */
export const AGENTD_ERROR_CODES = [
  // a request's input or its target (the API answers 4xx)
  "bad_request",
  "not_found",
  "conflict",
  "unauthorized",
  "forbidden",
  "tenant_required",
  "too_many_failures",
  "too_many_runs",
  "rate_limited",
  "media_too_large",
  // the vault and the blobs
  "secret_not_found",
  "secret_reserved",
  "master_key_missing",
  "secret_undecryptable",
  "blob_missing",
  "redaction_failed",
  // configuration and storage agentd refuses to start with, and a statement that could reach other tenants' rows
  "config",
  "master_key",
  "os_schema_too_new",
  "unscoped_query",
  // outgoing requests (src/net): refused by the guard, or failed
  "blocked_address",
  "bad_url",
  "dns",
  "network",
  "timeout",
  "too_many_redirects",
  "bad_response",
  // web search (tools/web-search): no provider for the tenant, its allowance used up, or it failed
  "not_configured",
  "quota",
  "unavailable",
  // the browser (tools/browser): a bound reached, a page that moved on, a load the guard refused, an action that failed
  "limit",
  "stale",
  "refused",
  "failed",
  // ssh (src/ssh): a host whose key is not the pinned one, a host that cannot be reached or refused the login
  "host_key_mismatch",
  "ssh_failed",
  // channels: what a provider sent or answered
  "telegram_unreachable",
  "malformed_update",
  "media_fetch",
  "bad_payload",
  "graph_api",
  // media (src/media): the transcription server did not answer (the API's caller may send again)
  "transcription_unavailable",
  // OAuth connections (connections/): none by that name, one the person must authorize again, a provider that refused
  "connection_not_found",
  "needs_reconnect",
  "oauth_failed",
  // the command line
  "usage",
  "cli_failed",
  "cli_unreachable",
  "cli_refused",
] as const;

export type AgentdErrorCode = (typeof AGENTD_ERROR_CODES)[number];

/** Base class of all agentd errors; `AgentdError.is(e, code?)` works across copies of the package. */
export class AgentdError<C extends AgentdErrorCode = AgentdErrorCode> extends Error {
  readonly code: C;
  constructor(code: C, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
    const names: string[] = [];
    for (let c: unknown = new.target; typeof c === "function" && c !== Error; c = Object.getPrototypeOf(c))
      names.push((c as { name: string }).name);
    Object.defineProperty(this, MARK, { value: names });
  }

  /**
   * True if `e` is an instance of this class (or a subclass), even from another copy of agentd; with
   * `code`, only if it also has that code (`AgentdError.is(e, "not_found")`).
   */
  static is<T extends abstract new (...args: never[]) => AgentdError>(
    this: T,
    e: unknown,
    code?: AgentdErrorCode,
  ): e is InstanceType<T> {
    if (typeof e !== "object" || e === null) return false;
    const names = (e as Record<symbol, unknown>)[MARK];
    return (
      Array.isArray(names) &&
      names.includes(this.name) &&
      (code === undefined || (e as { code?: unknown }).code === code)
    );
  }
}

export const notFound = (what: string) => new AgentdError("not_found", `${what} not found`);
export const badRequest = (why: string) => new AgentdError("bad_request", why);
export const conflict = (why: string) => new AgentdError("conflict", why);
