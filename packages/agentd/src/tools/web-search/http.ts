import { BlockedAddressError, hostKey, NetError } from "../../net/errors.ts";
import { type FetchInit, type GuardedResponse, guardedFetch } from "../../net/guard.ts";
import type { NetPolicy } from "../types.ts";
import { SearchError } from "./errors.ts";
import type { ProviderName, ProviderSettings } from "./types.ts";

const MAX_BYTES = 2_000_000;
const TIMEOUT_MS = 15_000;
/** The longest wait a Retry-After may ask for that is still reported as seconds (beyond: a date far off). */
const MAX_RETRY_AFTER_MS = 24 * 3600_000;

export interface ProviderCall {
  provider: ProviderName;
  settings: ProviderSettings;
  /** Where the key is set, for messages: "BRAVE_SEARCH_API_KEY" or "the tenant's vault secret …". */
  keyHint: string;
  net: NetPolicy;
  signal: AbortSignal;
  /** Headers that carry the key: dropped if the provider redirects elsewhere. */
  keyHeaders?: string[];
  /** Reads a provider's reason out of an error body. */
  reason?: (body: unknown) => string | undefined;
  /** Statuses other than 401/403 by which a provider says the key is wrong (Brave: 422 SUBSCRIPTION_TOKEN_INVALID). */
  keyRefused?: (status: number, body: unknown) => boolean;
  now?: () => number;
}

/**
 * One request to a provider's API, through the SSRF guard (an operator's own endpoint may be
 * private: its host is allowed; a tenant's is checked like any URL), its answer's JSON, or a
 * SearchError that says what happened and what to do.
 */
export async function providerJson(url: string, init: FetchInit, c: ProviderCall): Promise<unknown> {
  const u = new URL(url);
  const port = Number(u.port) || (u.protocol === "https:" ? 443 : 80);
  const host = u.hostname.replace(/^\[|\]$/g, "").toLowerCase();
  const net = c.settings.trustedUrl ? { ...c.net, allowHosts: [...c.net.allowHosts, hostKey(host, port)] } : c.net;
  let res: GuardedResponse;
  try {
    res = await guardedFetch(url, init, net, {
      maxBytes: MAX_BYTES,
      timeoutMs: TIMEOUT_MS,
      signal: c.signal,
      stripOnRedirect: c.keyHeaders ?? [],
    });
  } catch (e) {
    if (BlockedAddressError.is(e) || c.signal.aborted) throw e;
    if (NetError.is(e))
      throw new SearchError(
        "unavailable",
        c.provider,
        `${label(c.provider)} could not be reached: ${scrub(e.message, c)}; try again later`,
        { cause: e },
      );
    throw e;
  }
  const body = parse(res);
  if (res.status >= 200 && res.status < 300) {
    if (body === undefined || res.truncated)
      throw new SearchError(
        "bad_response",
        c.provider,
        `${label(c.provider)} answered with ${res.truncated ? "more than 2 MB" : "something that is not JSON"} (HTTP ${res.status})`,
      );
    return body;
  }
  const why = scrub((body !== undefined && c.reason?.(body)) || "no reason given", c).slice(0, 200);
  const s = res.status;
  if (s === 429) {
    const wait = retryAfterMs(res.headers, (c.now ?? Date.now)());
    const when = wait === null ? "later" : `in ${Math.ceil(wait / 1000)} s`;
    throw new SearchError(
      "rate_limited",
      c.provider,
      `${label(c.provider)} is rate-limiting searches (HTTP 429: ${why}); try again ${when}`,
      { retryAfterMs: wait },
    );
  }
  if (s === 401 || s === 403 || c.keyRefused?.(s, body))
    throw new SearchError(
      "unauthorized",
      c.provider,
      `${label(c.provider)} refused the request (HTTP ${s}: ${why}); check ${c.keyHint}`,
    );
  if (s === 432 || s === 433 || s === 402)
    throw new SearchError(
      "quota",
      c.provider,
      `${label(c.provider)} says the plan's allowance is used up (HTTP ${s}: ${why}); raise the plan's limit or wait for it to renew`,
    );
  if (s >= 500)
    throw new SearchError(
      "unavailable",
      c.provider,
      `${label(c.provider)} failed (HTTP ${s}: ${why}); try again later`,
    );
  throw new SearchError(
    "bad_request",
    c.provider,
    `${label(c.provider)} refused the search (HTTP ${s}: ${why}); rephrase the query`,
  );
}

export function label(p: ProviderName): string {
  return p === "searxng" ? "the SearXNG instance" : p === "brave" ? "the Brave Search API" : "the Tavily API";
}

function parse(res: GuardedResponse): unknown {
  try {
    return JSON.parse(res.body.toString("utf8"));
  } catch {
    return undefined;
  }
}

/** The key never appears in a message, whatever the provider or the network layer echoes. */
function scrub(text: string, c: ProviderCall): string {
  const key = c.settings.apiKey;
  return key && key.length >= 4 ? text.split(key).join("…") : text;
}

/**
 * How long a 429 asks to wait: Retry-After (seconds or an HTTP date), else the reset of the first
 * exhausted window in X-RateLimit-Reset (Brave's "per second, per month" list), else null.
 */
export function retryAfterMs(headers: Record<string, string>, now: number): number | null {
  const ra = headers["retry-after"]?.trim();
  if (ra) {
    if (/^\d{1,10}$/.test(ra)) return Math.min(Number(ra) * 1000, MAX_RETRY_AFTER_MS);
    const at = Date.parse(ra);
    if (Number.isFinite(at)) return Math.min(Math.max(0, at - now), MAX_RETRY_AFTER_MS);
  }
  const resets = numbers(headers["x-ratelimit-reset"]);
  const remaining = numbers(headers["x-ratelimit-remaining"]);
  const exhausted = remaining.indexOf(0);
  const secs = resets[Math.max(exhausted, 0)];
  return secs === undefined || Number.isNaN(secs) ? null : Math.min(secs * 1000, MAX_RETRY_AFTER_MS);
}

/** "1, 1419704" → [1, 1419704]; a part that is not a number stays in its place as NaN. */
function numbers(h: string | undefined): number[] {
  if (!h) return [];
  return h
    .split(",")
    .slice(0, 8)
    .map((s) => (/^\d{1,10}$/.test(s.trim()) ? Number(s.trim()) : Number.NaN));
}
