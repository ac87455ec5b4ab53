import { AgentdError } from "../../errors.ts";

/**
 * unavailable: no Chromium, or it failed to start; limit: a per-tenant or per-worker bound was reached;
 * bad_url: not an http(s) URL; stale: the page moved on or the ref is unknown (take a new snapshot);
 * refused: the network guard refused the page or what it loads; failed: the action itself failed on the page.
 */
export type BrowserErrorCode = "unavailable" | "limit" | "bad_url" | "stale" | "refused" | "failed";

export class BrowserError extends AgentdError<BrowserErrorCode> {
  constructor(code: BrowserErrorCode, message: string, opts: { cause?: unknown } = {}) {
    super(code, message, { cause: opts.cause });
  }
}
