import type { Config } from "../config.ts";
import type { BlobStore } from "../blobs/types.ts";
import type { McpServers } from "../mcp/servers.ts";
import type { MemoryStore } from "../memory/store.ts";
import type { SshService } from "../ssh/service.ts";
import type { SandboxHost } from "../sandbox/host.ts";
import type { Tenants } from "../tenancy/tenants.ts";
import { type BrowserManager, browserTools } from "./browser/index.ts";
import { connectionsTool } from "./connections/index.ts";
import { httpRequestTool } from "./http-request/index.ts";
import { jobTools } from "./jobs/index.ts";
import { grouped } from "./load-tools/index.ts";
import { mcpServerTools } from "./mcp-servers/index.ts";
import { memoryTools } from "./memory/index.ts";
import { runCodeTool } from "./run-code/index.ts";
import { sendFileTool } from "./send-file/index.ts";
import { speakReplyTool } from "./speak-reply/index.ts";
import { sshTools } from "./ssh/index.ts";
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
  /** SSH to tenants' pinned hosts (keys in the vault, a connection pool per worker). */
  ssh: SshService;
  /** The machine's sandbox, or null when run_code is off (AGENTD_SANDBOX=0). */
  sandbox: SandboxHost | null;
  /** Tenants' MCP server definitions (the agent adds one when asked). */
  mcp: McpServers;
}

/**
 * Every built-in tool. Adding one = a folder `tools/<name>/` whose `index.ts` exports it, and one line
 * here (return [] when the configuration leaves it off; `grouped` when it is offered on demand, see
 * groups.ts). Tenants choose among them with their `tools`, `deniedTools` and `toolGroups` settings.
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
  (env) => [sendFileTool(env.blobs)],
  (env) => (env.config.media.speech ? [speakReplyTool(env.tenants)] : []),
  () => grouped("apps", [httpRequestTool]),
  (env) => grouped("apps", mcpServerTools(env.mcp)),
  () => grouped("apps", [connectionsTool]),
  (env) =>
    env.browser
      ? grouped(
          "browser",
          browserTools({ manager: env.browser, blobs: env.blobs, limits: { downloadBytes: env.config.maxMediaBytes } }),
        )
      : [],
  (env) => grouped("ssh", sshTools(env.ssh, env.blobs, env.config.maxMediaBytes)),
  (env) =>
    env.sandbox
      ? grouped("code", [runCodeTool({ host: env.sandbox, blobs: env.blobs, maxFileBytes: env.config.maxMediaBytes })])
      : [],
];

export const builtinTools = (env: BuiltinEnv): Tool[] => BUILTINS.flatMap((make) => make(env));
