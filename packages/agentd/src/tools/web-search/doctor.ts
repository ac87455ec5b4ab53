import { showUrl } from "../../net/url-secrets.ts";
import type { NetPolicy } from "../types.ts";
import { SearchError } from "./errors.ts";
import { label } from "./http.ts";
import { WebSearch } from "./service.ts";
import type { SearchConfig } from "./types.ts";

const TIMEOUT_MS = 15_000;

/** `agentd doctor`'s line for web_search: one real query to the deployment's provider, or a note that none is set. */
export async function checkSearch(
  config: SearchConfig,
  net: NetPolicy,
): Promise<{ name: string; ok: boolean; text: string }> {
  const name = "web search";
  const p = config.provider;
  if (!p)
    return {
      name,
      ok: true,
      text: "no provider set: web_search works for tenants that bring their own (see AGENTD_SEARCH_PROVIDER)",
    };
  const where =
    p === "searxng"
      ? showUrl(config.searxngUrl ?? "")
      : showUrl(
          (p === "brave" ? config.braveApiBase : config.tavilyApiBase) ??
            (p === "brave" ? "https://api.search.brave.com" : "https://api.tavily.com"),
        );
  try {
    const a = await new WebSearch({ ...config, cacheMs: 0 }, { sleep: async () => {} }).search(
      {
        tenantId: "doctor",
        secrets: { get: async () => null },
        net,
        signal: AbortSignal.timeout(TIMEOUT_MS),
        now: Date.now(),
      },
      { query: "agentd", count: 3 },
    );
    return { name, ok: true, text: `${p} at ${where}: a test search returned ${a.results.length} result(s)` };
  } catch (e) {
    if (SearchError.is(e)) return { name, ok: false, text: e.message };
    return { name, ok: false, text: `${label(p)} at ${where} failed a test search: ${(e as Error).message}` };
  }
}
