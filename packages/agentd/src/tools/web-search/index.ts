import { z } from "zod";
import type { Tool } from "../types.ts";
import type { WebSearch } from "./service.ts";
import type { SearchResult } from "./types.ts";

export { SearchError } from "./errors.ts";
export { TENANT_SECRET, WebSearch } from "./service.ts";
export { PROVIDERS, type ProviderName, type SearchConfig } from "./types.ts";

const DEFAULT_COUNT = 5;
const MAX_COUNT = 10;

const Args = z.object({
  query: z.string().trim().min(1, "give words to search for").max(400, "a query is at most 400 characters"),
  count: z.number().int().min(1).max(MAX_COUNT).optional(),
  freshness: z.enum(["day", "week", "month", "year"]).optional(),
});

/** web_search: a short list of results (title, URL, snippet, date) from the tenant's provider or the deployment's. */
export function webSearchTool(search: WebSearch): Tool<z.infer<typeof Args>> {
  return {
    name: "web_search",
    description: "Search the web: titles, URLs, snippets.",
    input: Args,
    risk: "low",
    defaultDecision: "allow",
    untrusted: true,
    timeoutMs: 40_000,
    subject: (a) => a.query,
    async run(args, ctx) {
      const answer = await search.search(
        {
          tenantId: ctx.tenant.tenantId,
          secrets: ctx.secrets,
          net: ctx.services.net,
          signal: ctx.signal,
          now: ctx.now,
          scope: ctx.tenant,
        },
        {
          query: args.query,
          count: args.count ?? DEFAULT_COUNT,
          ...(args.freshness ? { freshness: args.freshness } : {}),
        },
      );
      return formatResults(args.query, answer.provider, answer.results);
    },
  };
}

/** Numbered lines: fewer bytes in the prompt than the same results as JSON. */
export function formatResults(query: string, provider: string, results: SearchResult[]): string {
  if (results.length === 0) return `No results for ${JSON.stringify(query)} (${provider}).`;
  const lines = [`Results for ${JSON.stringify(query)} (${provider}):`];
  results.forEach((r, i) => {
    lines.push(`${i + 1}. ${r.title}${r.date ? ` (${r.date})` : ""}`, `   ${r.url}`);
    if (r.snippet) lines.push(`   ${r.snippet}`);
  });
  return lines.join("\n");
}
