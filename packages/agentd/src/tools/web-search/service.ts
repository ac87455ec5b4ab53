import type { NetPolicy, SecretReader } from "../types.ts";
import { brave } from "./brave.ts";
import type { TenantScope } from "../../tenancy/scope.ts";
import { SearchCache } from "./cache.ts";
import { storedCache } from "./stored-cache.ts";
import { SearchError } from "./errors.ts";
import { searxng } from "./searxng.ts";
import { tavily } from "./tavily.ts";
import type {
  ProviderName,
  ProviderSettings,
  SearchConfig,
  SearchProvider,
  SearchQuery,
  SearchResult,
} from "./types.ts";

/** The vault secret that holds a tenant's own credential for each provider. */
export const TENANT_SECRET: Record<ProviderName, string> = {
  searxng: "SEARXNG_URL",
  brave: "BRAVE_SEARCH_API_KEY",
  tavily: "TAVILY_API_KEY",
};
/** The operator's variable for each provider. */
const OPERATOR_VAR: Record<ProviderName, string> = {
  searxng: "SEARXNG_URL",
  brave: "BRAVE_SEARCH_API_KEY",
  tavily: "TAVILY_API_KEY",
};

/** A 429 asking for at most this long is waited out once inside the call; longer waits go back to the model. */
const MAX_INLINE_WAIT_MS = 5_000;

export interface SearchCall {
  tenantId: string;
  secrets: SecretReader;
  net: NetPolicy;
  signal: AbortSignal;
  now: number;
  /** The tenant's OS data: the cache's shared layer (every worker's) when given. */
  scope?: TenantScope;
}

export interface SearchAnswer {
  provider: ProviderName;
  results: SearchResult[];
  cached: boolean;
  /** Whose provider answered: the deployment's or the tenant's own. */
  source: "operator" | "tenant";
}

/**
 * web_search's engine: picks the provider for a tenant (its own, with its key from the vault, or the
 * deployment's), serves repeated questions from the per-tenant cache, and waits out a short 429 once.
 */
export class WebSearch {
  readonly config: SearchConfig;
  readonly #cache: SearchCache;
  readonly #tenantProvider: (tenantId: string) => Promise<ProviderName | null>;
  readonly #sleep: (ms: number, signal: AbortSignal) => Promise<void>;

  constructor(
    config: SearchConfig,
    opts: {
      tenantProvider?: (tenantId: string) => Promise<ProviderName | null>;
      sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
    } = {},
  ) {
    this.config = config;
    this.#cache = new SearchCache(config.cacheMs);
    this.#tenantProvider = opts.tenantProvider ?? (async () => null);
    this.#sleep = opts.sleep ?? sleep;
  }

  async search(call: SearchCall, q: SearchQuery): Promise<SearchAnswer> {
    const { settings, source, keyHint } = await this.#settingsFor(call);
    const provider = makeProvider(settings, call.net, keyHint);
    const key = JSON.stringify([
      settings.provider,
      settings.url ?? "",
      source,
      q.query.trim().replace(/\s+/g, " ").toLowerCase(),
      q.count,
      q.freshness ?? "",
    ]);
    const { results, cached } = await this.#cache.get(
      call.tenantId,
      key,
      call.now,
      () => this.#withRetry(provider, q, call.signal),
      call.scope ? storedCache(call.scope) : undefined,
    );
    return { provider: settings.provider, results, cached, source };
  }

  /** The provider a tenant's searches go to, with where its credential comes from (for messages). */
  async #settingsFor(
    call: SearchCall,
  ): Promise<{ settings: ProviderSettings; source: "operator" | "tenant"; keyHint: string }> {
    const own = await this.#tenantProvider(call.tenantId);
    if (own) {
      const secret = TENANT_SECRET[own];
      const value = await call.secrets.get(secret);
      if (!value)
        throw new SearchError(
          "not_configured",
          own,
          `this tenant searches with ${own}, but its vault has no ${secret}: store it in the vault, or set searchProvider to null to use the deployment's`,
        );
      const keyHint = `the tenant's vault secret ${secret}`;
      if (own === "searxng")
        return { settings: { provider: own, url: value, trustedUrl: false }, source: "tenant", keyHint };
      const url = own === "brave" ? this.config.braveApiBase : this.config.tavilyApiBase;
      return {
        settings: { provider: own, apiKey: value, ...(url ? { url } : {}), trustedUrl: Boolean(url) },
        source: "tenant",
        keyHint,
      };
    }
    const p = this.config.provider;
    if (!p)
      throw new SearchError(
        "not_configured",
        null,
        "web search is not set up: the operator sets AGENTD_SEARCH_PROVIDER (searxng, brave or tavily) with SEARXNG_URL, BRAVE_SEARCH_API_KEY or TAVILY_API_KEY, or the tenant sets searchProvider and stores its own key in the vault",
      );
    return { settings: operatorSettings(this.config, p), source: "operator", keyHint: OPERATOR_VAR[p] };
  }

  async #withRetry(provider: SearchProvider, q: SearchQuery, signal: AbortSignal): Promise<SearchResult[]> {
    try {
      return await provider.search(q, signal);
    } catch (e) {
      if (
        !SearchError.is(e) ||
        e.code !== "rate_limited" ||
        e.retryAfterMs === null ||
        e.retryAfterMs > MAX_INLINE_WAIT_MS
      )
        throw e;
      await this.#sleep(e.retryAfterMs, signal);
      return provider.search(q, signal);
    }
  }
}

/** The operator's settings for a provider (checked by loadConfig: the URL or key is there). */
export function operatorSettings(c: SearchConfig, p: ProviderName): ProviderSettings {
  if (p === "searxng") return { provider: p, ...(c.searxngUrl ? { url: c.searxngUrl } : {}), trustedUrl: true };
  const url = p === "brave" ? c.braveApiBase : c.tavilyApiBase;
  const apiKey = p === "brave" ? c.braveApiKey : c.tavilyApiKey;
  return { provider: p, ...(url ? { url } : {}), ...(apiKey ? { apiKey } : {}), trustedUrl: Boolean(url) };
}

export function makeProvider(s: ProviderSettings, net: NetPolicy, keyHint: string): SearchProvider {
  return s.provider === "searxng"
    ? searxng(s, net, keyHint)
    : s.provider === "brave"
      ? brave(s, net, keyHint)
      : tavily(s, net, keyHint);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((ok, fail) => {
    if (signal.aborted) return fail(signal.reason);
    const t = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      ok();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      fail(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
