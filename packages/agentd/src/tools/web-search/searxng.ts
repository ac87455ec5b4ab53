import type { NetPolicy } from "../types.ts";
import { providerJson } from "./http.ts";
import { pick, result } from "./text.ts";
import type { ProviderSettings, SearchProvider } from "./types.ts";

/**
 * SearXNG's JSON API: GET <instance>/search?q=…&format=json (the instance must list json in
 * search.formats, or it answers 403). Results: { results: [{ title, url, content, publishedDate }] }.
 */
export function searxng(settings: ProviderSettings, net: NetPolicy, keyHint: string): SearchProvider {
  const base = settings.url;
  if (!base) throw new Error("searxng needs the instance's URL");
  return {
    name: "searxng",
    async search(q, signal) {
      const url = new URL("search", base.endsWith("/") ? base : `${base}/`);
      url.searchParams.set("q", q.query);
      url.searchParams.set("format", "json");
      url.searchParams.set("pageno", "1");
      if (q.freshness) url.searchParams.set("time_range", q.freshness);
      const body = (await providerJson(
        url.href,
        { headers: { accept: "application/json" } },
        { provider: "searxng", settings, keyHint, net, signal },
      )) as {
        results?: unknown;
      };
      return pick(body.results, q.count, (r) => result(r.title, r.url, r.content, r.publishedDate));
    },
  };
}
