import { AgentdError } from "../../errors.ts";
import type { ProviderName } from "./types.ts";

/**
 * not_configured: no provider for this tenant; unauthorized: the key was refused; rate_limited: the
 * provider said 429 (retryAfterMs when it said how long); quota: the plan's allowance is used up;
 * bad_request: the provider refused the question; unavailable: network, timeout or a 5xx; bad_response:
 * the answer was not what its API documents.
 */
export type SearchErrorCode =
  | "not_configured"
  | "unauthorized"
  | "rate_limited"
  | "quota"
  | "bad_request"
  | "unavailable"
  | "bad_response";

/** A search that failed, with what to do about it (the model reads the message). */
export class SearchError extends AgentdError<SearchErrorCode> {
  readonly provider: ProviderName | null;
  /** For rate_limited: how long the provider asked to wait, when it said. */
  readonly retryAfterMs: number | null;

  constructor(
    code: SearchErrorCode,
    provider: ProviderName | null,
    message: string,
    opts: { retryAfterMs?: number | null; cause?: unknown } = {},
  ) {
    super(code, message, { cause: opts.cause });
    this.provider = provider;
    this.retryAfterMs = opts.retryAfterMs ?? null;
  }
}
