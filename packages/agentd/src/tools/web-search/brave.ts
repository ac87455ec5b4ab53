import type { NetPolicy } from "../types.ts";
import { providerJson } from "./http.ts";
import { pick, result } from "./text.ts";
import type { Freshness, ProviderSettings, SearchProvider } from "./types.ts";

const API = "https://api.search.brave.com";
const FRESHNESS: Record<Freshness, string> = { day: "pd", week: "pw", month: "pm", year: "py" };

/**
 * Brave's Web Search API: GET /res/v1/web/search?q=…&count=… with X-Subscription-Token. Results:
 * { web: { results: [{ title, url, description, page_age, age }] } }; errors: { error: { code, detail } },
 * 429 with X-RateLimit-Reset (per-second and per-month windows).
 */
export function brave(settings: ProviderSettings, net: NetPolicy, keyHint: string): SearchProvider {
  const key = settings.apiKey;
  if (!key) throw new Error("brave needs an API key");
  return {
    name: "brave",
    async search(q, signal) {
      const url = new URL("/res/v1/web/search", settings.url ?? API);
      url.searchParams.set("q", q.query);
      url.searchParams.set("count", String(Math.min(q.count, 20)));
      url.searchParams.set("text_decorations", "false");
      if (q.freshness) url.searchParams.set("freshness", FRESHNESS[q.freshness]);
      const body = (await providerJson(
        url.href,
        { headers: { accept: "application/json", "accept-encoding": "gzip", "x-subscription-token": key } },
        {
          provider: "brave",
          settings,
          keyHint,
          net,
          signal,
          keyHeaders: ["x-subscription-token"],
          reason: braveReason,
          keyRefused,
        },
      )) as { web?: { results?: unknown } };
      return pick(body.web?.results, q.count, (r) => result(r.title, r.url, r.description, r.page_age ?? r.age));
    },
  };
}

function braveReason(body: unknown): string | undefined {
  const e = (body as { error?: { detail?: unknown; code?: unknown } }).error;
  return typeof e?.detail === "string" ? e.detail : typeof e?.code === "string" ? e.code : undefined;
}

/** Brave answers a wrong or expired token with 422 and a code saying so. */
function keyRefused(_status: number, body: unknown): boolean {
  const code = (body as { error?: { code?: unknown } } | undefined)?.error?.code;
  return typeof code === "string" && code.startsWith("SUBSCRIPTION_TOKEN");
}
