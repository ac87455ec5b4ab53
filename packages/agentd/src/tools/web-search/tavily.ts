import type { NetPolicy } from "../types.ts";
import { providerJson } from "./http.ts";
import { pick, result } from "./text.ts";
import type { ProviderSettings, SearchProvider } from "./types.ts";

const API = "https://api.tavily.com";

/**
 * Tavily's search API: POST /search { query, max_results, … } with a Bearer key. Results:
 * { results: [{ title, url, content, published_date }] }; errors: { detail: { error } }, 429 when
 * rate-limited, 432/433 when the plan's credits are spent.
 *
 * Plain fetch rather than @tavily/core: its client turns every error into a bare Error whose message
 * is the provider's text, dropping the HTTP status and Retry-After (a 429 cannot be told from a bad
 * key), and it would bring axios and a tokenizer along for one POST.
 */
export function tavily(settings: ProviderSettings, net: NetPolicy, keyHint: string): SearchProvider {
  const key = settings.apiKey;
  if (!key) throw new Error("tavily needs an API key");
  return {
    name: "tavily",
    async search(q, signal) {
      const url = new URL("/search", settings.url ?? API);
      const payload = {
        query: q.query,
        max_results: Math.min(q.count, 20),
        search_depth: "basic",
        topic: "general",
        include_answer: false,
        ...(q.freshness ? { time_range: q.freshness } : {}),
      };
      const body = (await providerJson(
        url.href,
        {
          method: "POST",
          headers: { accept: "application/json", "content-type": "application/json", authorization: `Bearer ${key}` },
          body: JSON.stringify(payload),
        },
        { provider: "tavily", settings, keyHint, net, signal, reason: tavilyReason },
      )) as { results?: unknown };
      return pick(body.results, q.count, (r) => result(r.title, r.url, r.content, r.published_date));
    },
  };
}

function tavilyReason(body: unknown): string | undefined {
  const d = (body as { detail?: unknown }).detail;
  if (typeof d === "string") return d;
  const e = (d as { error?: unknown } | undefined)?.error;
  return typeof e === "string" ? e : undefined;
}
