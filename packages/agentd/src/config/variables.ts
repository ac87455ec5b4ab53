import { z } from "zod";
import { parseTrustedProxies } from "../api/client-address.ts";
import { channelVariables } from "./channel-variables.ts";
import { composioVariables } from "./composio-variables.ts";
import { mediaVariables } from "./media-variables.ts";
import { serverlessVariables } from "./serverless-variables.ts";
import { duration, flag, int, kept, timeZone, url, type VariableMeta, v, variables } from "./kinds.ts";

export { isTimeZone, type Section, type VariableMeta, variables } from "./kinds.ts";

// Every environment variable agentd reads, in one schema: its check, its default and its
// documentation. loadConfig parses it; `--help`, the README's settings table and `agentd doctor`
// are drawn from the metadata registered here (kinds.ts).

export const Env = z.object({
  // The store
  AGENTD_DATA: v(z.string().optional(), {
    section: "store",
    doc: "the data folder: SQLite files, master key, admin token, media (also --data)",
    default: "./data",
  }),
  DATABASE_URL: v(url(["postgres:", "postgresql:"], "postgres://user:password@host:5432/agentd").optional(), {
    section: "store",
    doc: "Postgres instead of the SQLite files: any number of agentd processes share it",
    secret: true,
  }),
  AGENTD_PG_SCHEMA: v(
    z
      .string()
      .regex(/^[a-z_][a-z0-9_]{0,62}$/, "it must be a lower-case SQL name (letters, digits, _)")
      .optional(),
    {
      section: "store",
      doc: "the Postgres schema to use",
      default: "public",
    },
  ),
  // The server
  AGENTD_HOST: v(z.string().optional(), {
    section: "server",
    doc: "the address the API listens on (0.0.0.0: every interface)",
    default: "127.0.0.1",
  }),
  AGENTD_PORT: v(int(0, 65535, "a port number from 0 to 65535").optional(), {
    section: "server",
    doc: "the API's port (PORT is read too)",
    default: "8787",
  }),
  PORT: v(int(0, 65535, "a port number from 0 to 65535").optional(), {
    section: "server",
    doc: "the port, when AGENTD_PORT is unset (as platforms set it)",
  }),
  AGENTD_ACCESS_LOG: v(flag.optional(), {
    section: "server",
    doc: "0: no access log; by default `agentd start` and `agentd serve` write one JSON line per HTTP request on stderr (method, path, status, ms, tenant; never a token, a query string or a link's secret)",
    default: "1",
  }),
  AGENTD_PUBLIC_URL: v(url(["https:", "http:"], "https://agentd.example.com").optional(), {
    section: "server",
    doc: "this agentd's public URL: where Twilio's webhook and tenants' Telegram bots' webhooks point",
  }),
  AGENTD_ADMIN_TOKEN: v(z.string().optional(), {
    section: "server",
    doc: "the operator's token for the admin API: 16+ random characters",
    default: "<data>/admin.token, made on first start",
    secret: true,
  }),
  AGENTD_RELAY_TOKEN: v(z.string().optional(), {
    section: "server",
    doc: "tokens (comma-separated, 16+ characters each) that open SSH tunnels at /ssh-relay of this server, to 127.0.0.1:AGENTD_RELAY_SSH_PORT only (also `agentd relay`'s)",
    secret: true,
  }),
  AGENTD_RELAY_SSH_PORT: v(int(1, 65535, "a port number from 1 to 65535").optional(), {
    section: "server",
    doc: "the sshd port on 127.0.0.1 that SSH tunnels reach",
    default: "22",
  }),
  AGENTD_TRUSTED_PROXIES: v(
    z
      .string()
      .superRefine((s, ctx) => {
        try {
          parseTrustedProxies(s);
        } catch (e) {
          ctx.addIssue({
            code: "custom",
            message: `${(e as Error).message}: give IP addresses or CIDR ranges, comma-separated`,
          });
        }
      })
      .optional(),
    {
      section: "server",
      doc: "your reverse proxies (IPs or CIDR ranges, comma-separated): behind them, the client's address is read from X-Forwarded-For (failed tokens are counted per client)",
    },
  ),
  AGENTD_MAX_BODY_BYTES: v(int(1024, 1 << 30).optional(), {
    section: "server",
    doc: "the largest request body the API accepts, in bytes",
    default: "1048576",
  }),
  // The model
  OPENAI_API_KEY: v(z.string().optional(), { section: "model", doc: "the model's API key (OpenAI)", secret: true }),
  AGENTD_MODEL_BASE_URL: v(url(["https:", "http:"], "http://localhost:11434/v1").optional(), {
    section: "model",
    doc: "an OpenAI-compatible server instead (Ollama, vLLM, llama.cpp); OPENAI_BASE_URL is read too",
    secret: true,
  }),
  OPENAI_BASE_URL: v(url(["https:", "http:"], "http://localhost:11434/v1").optional(), {
    section: "model",
    doc: "as AGENTD_MODEL_BASE_URL",
    secret: true,
  }),
  AGENTD_MODEL_API_KEY: v(z.string().optional(), {
    section: "model",
    doc: "that server's key, if it needs one",
    secret: true,
  }),
  AGENTD_MODEL: v(z.string().optional(), {
    section: "model",
    doc: 'the model id; "echo" is a built-in model that answers each message with its own text: try agentd without a key',
    default: "gpt-4o-mini",
  }),
  AGENTD_EMBEDDING_MODEL: v(z.string().optional(), {
    section: "model",
    doc: "an embedding model: turns on semantic memory search",
  }),
  AGENTD_MODEL_IMAGES: v(flag.optional(), {
    section: "model",
    doc: "0: the model takes no images (photos and screenshots reach it as notes naming the file)",
    default: "1",
  }),
  AGENTD_SUMMARY_MODEL: v(z.string().optional(), {
    section: "model",
    doc: "the model that folds old messages into the summary",
    default: "AGENTD_MODEL",
  }),
  // The agent
  AGENTD_TIMEZONE: v(timeZone.optional(), {
    section: "agent",
    doc: "the time zone of new tenants that name none (reminders, schedules)",
    default: "UTC",
  }),
  AGENTD_HISTORY_WINDOW: v(int(1, 1000).optional(), {
    section: "agent",
    doc: "recent messages sent to the model each turn",
    default: "20",
  }),
  AGENTD_COMPACT_AFTER: v(int(1, 1000).optional(), {
    section: "agent",
    doc: "messages beyond the window before old ones are folded into the summary",
    default: "10",
  }),
  AGENTD_APPROVAL_TIMEOUT: v(duration.optional(), {
    section: "agent",
    doc: "how long a tool call waits for a person's approval before it counts as denied",
    default: "24h",
  }),
  AGENTD_OAUTH_APPS: v(z.string().optional(), {
    section: "connections",
    doc: 'the OAuth apps every tenant may connect, as a JSON array: [{"name":"github","clientId":"…","clientSecret":"…","authorizationUrl":"…","tokenUrl":"…","scopes":["public_repo"],"apiHosts":["api.github.com"]}], or "issuer" for OpenID Connect discovery; the callback is <AGENTD_PUBLIC_URL>/oauth/callback',
    secret: true,
  }),
  AGENTD_CONNECT_TIMEOUT: v(duration.optional(), {
    section: "connections",
    doc: "how long a connect link stays valid, and a call that needs it waits for the person",
    default: "1h",
  }),
  ...composioVariables,
  AGENTD_LEASE_MS: v(int(1000, 3_600_000).optional(), {
    section: "agent",
    doc: "a worker's claim on a run; after a crash its turns resume elsewhere within this",
    default: "10000",
  }),
  AGENTD_RUNS_KEPT: v(kept.optional(), {
    section: "agent",
    doc: 'how long finished runs (turns, reminders, heartbeats) and their journals are kept before a worker deletes them; "forever" keeps them',
    default: "7d",
  }),
  AGENTD_FAILED_RUNS_KEPT: v(kept.optional(), {
    section: "agent",
    doc: "how long failed runs (the dead-letter list, `agentd runs`) are kept",
    default: "30d",
  }),
  AGENTD_MAX_MEDIA_BYTES: v(int(1024, 2 ** 31).optional(), {
    section: "agent",
    doc: "the largest photo, voice note or document kept, in bytes",
    default: "20971520",
  }),
  ...mediaVariables,
  ...serverlessVariables,
  // Web tools
  AGENTD_ALLOW_PRIVATE_NET: v(flag.optional(), {
    section: "web tools",
    doc: "1: let web_fetch and http_request reach private and loopback addresses",
    default: "0",
  }),
  AGENTD_ALLOW_HOSTS: v(z.string().optional(), {
    section: "web tools",
    doc: "hosts the web tools may reach even when private (comma-separated)",
  }),
  AGENTD_SEARCH_PROVIDER: v(
    z.enum(["searxng", "brave", "tavily"], { error: "it must be searxng, brave or tavily" }).optional(),
    {
      section: "web tools",
      doc: "web_search's provider for every tenant that brings none of its own",
      default: "the one whose URL or key is set below",
    },
  ),
  SEARXNG_URL: v(url(["https:", "http:"], "http://127.0.0.1:8888").optional(), {
    section: "web tools",
    doc: "a SearXNG instance with its JSON API on (search.formats: [html, json])",
    secret: true,
  }),
  BRAVE_SEARCH_API_KEY: v(z.string().optional(), {
    section: "web tools",
    doc: "a Brave Search API key (X-Subscription-Token)",
    secret: true,
  }),
  BRAVE_SEARCH_API_BASE: v(url(["https:", "http:"], "https://api.search.brave.com").optional(), {
    section: "web tools",
    doc: "another Brave Search API origin (a stand-in in tests)",
  }),
  TAVILY_API_KEY: v(z.string().optional(), { section: "web tools", doc: "a Tavily API key (tvly-…)", secret: true }),
  TAVILY_API_BASE: v(url(["https:", "http:"], "https://api.tavily.com").optional(), {
    section: "web tools",
    doc: "another Tavily API origin (a stand-in in tests)",
  }),
  AGENTD_BROWSER: v(flag.optional(), {
    section: "web tools",
    doc: "0: no browser tools (browser, browser_act); on by default when Chromium is installed",
    default: "1",
  }),
  AGENTD_CHROMIUM: v(z.string().optional(), {
    section: "web tools",
    doc: "the Chromium the browser tools drive (Debian's: apt-get install chromium)",
    default: "/usr/bin/chromium",
  }),
  AGENTD_BROWSER_CONTEXTS: v(int(1, 1000).optional(), {
    section: "web tools",
    doc: "tenants with a browser open at once in one worker (the least recently used is closed beyond, its state saved)",
    default: "8",
  }),
  AGENTD_BROWSER_IDLE: v(duration.optional(), {
    section: "web tools",
    doc: "the browser process closes after this long without work",
    default: "5m",
  }),
  AGENTD_MCP_SERVERS: v(z.string().optional(), {
    section: "mcp",
    doc: 'MCP servers every tenant has, as a JSON list of definitions like the API\'s (e.g. [{"name":"docs","transport":"http","url":"https://…"}]); secrets they name are read from each tenant\'s vault',
  }),
  AGENTD_MCP_IDLE: v(duration.optional(), {
    section: "mcp",
    doc: "a connection to an MCP server closes after this long unused (a stdio server's processes are killed)",
    default: "5m",
  }),
  AGENTD_MCP_CONNECTIONS: v(int(1, 1000).optional(), {
    section: "mcp",
    doc: "MCP connections one tenant may hold open in one worker (the least recently used idle one is closed beyond)",
    default: "8",
  }),
  AGENTD_SEARCH_CACHE: v(duration.optional(), {
    section: "web tools",
    doc: "how long a tenant's search results are reused for the same question",
    default: "10m",
  }),
  // The sandbox (run_code, stdio MCP servers)
  AGENTD_SANDBOX: v(flag.optional(), {
    section: "sandbox",
    doc: "0: no run_code tool; on by default (it runs code in bubblewrap, and refuses to when bubblewrap cannot run: see `agentd doctor`)",
    default: "1",
  }),
  AGENTD_BWRAP: v(z.string().optional(), {
    section: "sandbox",
    doc: "bubblewrap's executable (Debian's: apt-get install bubblewrap)",
    default: "/usr/bin/bwrap",
  }),
  AGENTD_UNSANDBOXED_CODE: v(flag.optional(), {
    section: "sandbox",
    doc: "1: when bubblewrap cannot run, run code anyway with only rlimits, as agentd's own user, with its network and every file it can read; only for a machine that is itself a throwaway sandbox",
    default: "0",
  }),
  AGENTD_SANDBOX_TIMEOUT: v(duration.optional(), {
    section: "sandbox",
    doc: "the longest a run_code call may run (wall clock; the whole process tree is killed then); a call may ask for less",
    default: "30s",
  }),
  AGENTD_SANDBOX_MEMORY_MB: v(int(1200, 1_048_576).optional(), {
    section: "sandbox",
    doc: "address space per sandboxed process, in MB (Node needs about 1,100 to start)",
    default: "2048",
  }),
  AGENTD_SANDBOX_WORKSPACE_MB: v(int(1, 1_048_576).optional(), {
    section: "sandbox",
    doc: "a tenant's workspace may hold this much; run_code refuses to start beyond it until files are deleted",
    default: "1024",
  }),
  // The vault
  AGENTD_MASTER_KEY: v(z.string().optional(), {
    section: "vault",
    doc: "the vault's master key, 32 bytes as base64 or hex",
    default: "<data>/master.key, made on first start",
    secret: true,
  }),
  AGENTD_MASTER_KEY_PREVIOUS: v(z.string().optional(), {
    section: "vault",
    doc: "older keys still read during a rotation (comma-separated)",
    secret: true,
  }),
  ...channelVariables,
  // Clients (chat, bots)
  AGENTD_URL: v(url(["https:", "http:"], "http://127.0.0.1:8787").optional(), {
    section: "client",
    doc: "the agentd API `agentd chat` talks to (also --url)",
    default: "http://AGENTD_HOST:AGENTD_PORT",
  }),
  AGENTD_API_KEY: v(z.string().optional(), {
    section: "client",
    doc: "a tenant's API key for `agentd chat`, instead of the admin token",
    secret: true,
  }),
  AGENTD_BOT_TOKEN: v(z.string().optional(), {
    section: "client",
    doc: "the token for `agentd bots add` when neither --token-stdin nor --token is given",
    secret: true,
  }),
});
export type Env = z.infer<typeof Env>;

export type VariableName = keyof typeof Env.shape;

/** Every variable with its metadata, in the order of the schema. */
export function catalogue(): ({ name: VariableName } & VariableMeta)[] {
  return (Object.keys(Env.shape) as VariableName[]).map((name) => ({
    name,
    ...(variables.get(Env.shape[name]) as VariableMeta),
  }));
}
