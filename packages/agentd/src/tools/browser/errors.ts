const BROWSER = Symbol.for("agentd.tools.BrowserError");

/**
 * unavailable: no Chromium, or it failed to start; limit: a per-tenant or per-worker bound was reached;
 * bad_url: not an http(s) URL; stale: the page moved on or the ref is unknown (take a new snapshot);
 * refused: the network guard refused the page or what it loads; failed: the action itself failed on the page.
 */
export type BrowserErrorCode = "unavailable" | "limit" | "bad_url" | "stale" | "refused" | "failed";

export class BrowserError extends Error {
  readonly code: BrowserErrorCode;
  readonly [BROWSER] = true;

  constructor(code: BrowserErrorCode, message: string, opts: { cause?: unknown } = {}) {
    super(message, { cause: opts.cause });
    this.name = "BrowserError";
    this.code = code;
  }

  static is(e: unknown): e is BrowserError {
    return typeof e === "object" && e !== null && (e as Record<symbol, unknown>)[BROWSER] === true;
  }
}
