import type { ProviderName } from "./types.ts";

const SEARCH = Symbol.for("agentd.tools.SearchError");

/**
 * not_configured: no provider for this tenant; unauthorized: the key was refused; rate_limited: the
 * provider said 429 (retryAfterMs when it said how long); quota: the plan's allowance is used up;
 * bad_request: the provider refused the question; unavailable: network, timeout or a 5xx; bad_response:
 * the answer was not what its API documents.
 */
export type SearchErrorCode = "not_configured" | "unauthorized" | "rate_limited" | "quota" | "bad_request" | "unavailable" | "bad_response";

/** A search that failed, with what to do about it (the model reads the message). */
export class SearchError extends Error {
  readonly code: SearchErrorCode;
  readonly provider: ProviderName | null;
  /** For rate_limited: how long the provider asked to wait, when it said. */
  readonly retryAfterMs: number | null;
  readonly [SEARCH] = true;

  constructor(code: SearchErrorCode, provider: ProviderName | null, message: string, opts: { retryAfterMs?: number | null; cause?: unknown } = {}) {
    super(message, { cause: opts.cause });
    this.name = "SearchError";
    this.code = code;
    this.provider = provider;
    this.retryAfterMs = opts.retryAfterMs ?? null;
  }

  static is(e: unknown): e is SearchError {
    return typeof e === "object" && e !== null && (e as Record<symbol, unknown>)[SEARCH] === true;
  }
}
