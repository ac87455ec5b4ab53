/** The search services web_search can use. */
export const PROVIDERS = ["searxng", "brave", "tavily"] as const;
export type ProviderName = (typeof PROVIDERS)[number];

/** How recent results must be; each provider has its own word for these. */
export type Freshness = "day" | "week" | "month" | "year";

export interface SearchQuery {
  query: string;
  /** How many results to return (the providers' own page sizes bound it further). */
  count: number;
  freshness?: Freshness;
}

/** One result as the model sees it: plain text, bounded, nothing else from the provider's payload. */
export interface SearchResult {
  title: string;
  url: string;
  snippet: string;
  /** When the page was published or last changed, as the provider gives it. */
  date?: string;
}

/** One provider behind the common interface: it speaks its own API and returns plain results. */
export interface SearchProvider {
  readonly name: ProviderName;
  search(q: SearchQuery, signal: AbortSignal): Promise<SearchResult[]>;
}

/** Where a provider is and how to reach it: the operator's settings or a tenant's own key. */
export interface ProviderSettings {
  provider: ProviderName;
  /** SearXNG: the instance's URL; Brave, Tavily: another API origin (a stand-in in tests). */
  url?: string;
  apiKey?: string;
  /** True when the URL is the operator's (default or configured): its host may be private (a SearXNG next to agentd). A tenant's is checked like any URL. */
  trustedUrl: boolean;
}

/** The deployment's web search (environment variables). */
export interface SearchConfig {
  /** The default provider, or null when none is configured (tenants may still bring their own key). */
  provider: ProviderName | null;
  searxngUrl?: string;
  braveApiKey?: string;
  braveApiBase?: string;
  tavilyApiKey?: string;
  tavilyApiBase?: string;
  /** How long a result list is reused for the same tenant and question. */
  cacheMs: number;
}
