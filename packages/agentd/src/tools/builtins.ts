import type { Config } from "../config.ts";
import type { BlobStore } from "../blobs/types.ts";
import type { MemoryStore } from "../memory/store.ts";
import type { Tenants } from "../tenancy/tenants.ts";
import { type BrowserManager, browserTools } from "./browser/index.ts";
import { httpRequestTool } from "./http-request/index.ts";
import { jobTools } from "./jobs/index.ts";
import { memoryTools } from "./memory/index.ts";
import type { Tool } from "./types.ts";
import { webFetchTool } from "./web-fetch/index.ts";
import { WebSearch, webSearchTool } from "./web-search/index.ts";

/** What a built-in may be made from: the configuration (a provider's key, a limit) and the app's stores. */
export interface BuiltinEnv {
  config: Config;
  memory: MemoryStore;
  tenants: Tenants;
  blobs: BlobStore;
  /** The worker's browser, or null when the browser tools are off (no Chromium, AGENTD_BROWSER=0). */
  browser: BrowserManager | null;
}

/**
 * Every built-in tool. Adding one = a folder `tools/<name>/` whose `index.ts` exports it, and one line
 * here (return [] when the configuration leaves it off). Tenants choose among them with their
 * `tools` and `deniedTools` settings.
 */
export const BUILTINS: readonly ((env: BuiltinEnv) => readonly Tool[])[] = [
  (env) => memoryTools(env.memory),
  () => jobTools,
  () => [webFetchTool],
  (env) => [
    webSearchTool(
      new WebSearch(env.config.search, {
        tenantProvider: async (id) => (await env.tenants.get(id))?.settings.searchProvider ?? null,
      }),
    ),
  ],
  () => [httpRequestTool],
  (env) =>
    env.browser
      ? browserTools({ manager: env.browser, blobs: env.blobs, limits: { downloadBytes: env.config.maxMediaBytes } })
      : [],
];

export const builtinTools = (env: BuiltinEnv): Tool[] => BUILTINS.flatMap((make) => make(env));
