import { toMs } from "@agentd/kernel";
import { z } from "zod";
import { parseTrustedProxies } from "../api/client-address.ts";

// Every environment variable agentd reads, in one schema: its check, its default and its
// documentation. loadConfig parses it; `--help`, the README's settings table and `agentd doctor`
// are drawn from the metadata registered here.

export type Section =
  | "store"
  | "server"
  | "model"
  | "agent"
  | "web tools"
  | "vault"
  | "telegram"
  | "twilio"
  | "whatsapp"
  | "client";

export interface VariableMeta {
  section: Section;
  /** What it sets, in a phrase or two. */
  doc: string;
  /** The default, as shown (absent: unset means off or none). */
  default?: string;
  /** Its value never appears in a message (keys, tokens, URLs that may carry credentials). */
  secret?: boolean;
}

export const variables = z.registry<VariableMeta>();
const register = variables.add.bind(variables) as (schema: z.ZodType, meta: VariableMeta) => unknown;
const v = <T extends z.ZodType>(schema: T, meta: VariableMeta): T => {
  register(schema, meta);
  return schema;
};

const int = (min: number, max: number, what = `a whole number from ${min} to ${max}`) =>
  z
    .string()
    .regex(/^\d+$/, `it must be ${what}`)
    .transform(Number)
    .pipe(z.number().int().min(min, `it must be ${what}`).max(max, `it must be ${what}`));

const url = (protocols: string[], example: string) =>
  z.string().refine(
    (s) => {
      try {
        return protocols.includes(new URL(s).protocol);
      } catch {
        return false;
      }
    },
    `it must be a URL starting with ${protocols.map((p) => `${p}//`).join(" or ")}, e.g. ${example}`,
  );

const flag = z
  .enum(["0", "1", "true", "false"], { error: "it must be 1 (on) or 0 (off)" })
  .transform((s) => s === "1" || s === "true");

const timeZone = z
  .string()
  .refine(
    isTimeZone,
    "it must be an IANA time zone such as Europe/Paris or America/New_York (see `timedatectl list-timezones`)",
  );

function isDuration(s: string): boolean {
  try {
    return toMs(s) > 0;
  } catch {
    return false;
  }
}

const duration = z.string().refine(isDuration, 'it must be a duration such as "30m", "24h" or "7d"');

/** A retention age: a duration, or "forever". */
const kept = z
  .string()
  .refine((s) => s === "forever" || isDuration(s), 'it must be a duration such as "7d" or "36h", or "forever"');

/** True for a time zone this Node knows (IANA names, "UTC"). */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

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
  AGENTD_SEARCH_CACHE: v(duration.optional(), {
    section: "web tools",
    doc: "how long a tenant's search results are reused for the same question",
    default: "10m",
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
  // Telegram
  TELEGRAM_BOT_TOKEN: v(
    z
      .string()
      .regex(/^\d+:[\w-]+$/, "it must be a bot token from @BotFather (digits, a colon, then letters)")
      .optional(),
    {
      section: "telegram",
      doc: "connect the deployment's Telegram bot (long polling)",
      secret: true,
    },
  ),
  TELEGRAM_WEBHOOK_SECRET: v(
    z
      .string()
      .regex(/^[\w-]{1,256}$/, "it must be 1 to 256 letters, digits, _ or - (Telegram's rule)")
      .optional(),
    {
      section: "telegram",
      doc: "serve the webhook at /channels/telegram instead, refusing calls without this secret (registered with Telegram at start when AGENTD_PUBLIC_URL is set)",
      secret: true,
    },
  ),
  TELEGRAM_API_ROOT: v(url(["https:", "http:"], "https://api.telegram.org").optional(), {
    section: "telegram",
    doc: "another Bot API server",
    default: "https://api.telegram.org",
  }),
  TELEGRAM_BOTS_RESCAN_MS: v(int(100, 86_400_000).optional(), {
    section: "telegram",
    doc: "how often workers look for tenant bots added or removed",
    default: "10000",
  }),
  // Twilio
  TWILIO_ACCOUNT_SID: v(
    z
      .string()
      .regex(/^AC[0-9a-fA-F]{32}$/, "it must be AC followed by 32 hex digits (Twilio's console)")
      .optional(),
    {
      section: "twilio",
      doc: "with TWILIO_AUTH_TOKEN: SMS and WhatsApp through Twilio (webhook <AGENTD_PUBLIC_URL>/channels/twilio)",
    },
  ),
  TWILIO_AUTH_TOKEN: v(z.string().optional(), {
    section: "twilio",
    doc: "the account's auth token (also checks webhook signatures)",
    secret: true,
  }),
  TWILIO_SMS_FROM: v(z.string().optional(), { section: "twilio", doc: "the number SMS replies come from" }),
  TWILIO_WHATSAPP_FROM: v(z.string().optional(), {
    section: "twilio",
    doc: "the WhatsApp sender, e.g. whatsapp:+14155238886",
  }),
  TWILIO_API_BASE: v(url(["https:", "http:"], "https://api.twilio.com").optional(), {
    section: "twilio",
    doc: "another Twilio API origin (a stand-in in tests)",
  }),
  // WhatsApp's Cloud API
  WHATSAPP_ACCESS_TOKEN: v(z.string().optional(), {
    section: "whatsapp",
    doc: "a system user's token: WhatsApp through Meta's Cloud API (webhook /channels/whatsapp)",
    secret: true,
  }),
  WHATSAPP_APP_SECRET: v(z.string().optional(), {
    section: "whatsapp",
    doc: "the app secret that signs webhooks (X-Hub-Signature-256)",
    secret: true,
  }),
  WHATSAPP_PHONE_NUMBER_ID: v(
    z.string().regex(/^\d+$/, "it must be the number's id (digits), not the phone number").optional(),
    { section: "whatsapp", doc: "the business number's id" },
  ),
  WHATSAPP_VERIFY_TOKEN: v(z.string().optional(), {
    section: "whatsapp",
    doc: "what the webhook verification must present",
    secret: true,
  }),
  WHATSAPP_API_BASE: v(url(["https:", "http:"], "https://graph.facebook.com").optional(), {
    section: "whatsapp",
    doc: "another Graph API origin (a stand-in in tests)",
  }),
  WHATSAPP_API_VERSION: v(
    z
      .string()
      .regex(/^v\d+\.\d+$/, 'it must look like "v23.0"')
      .optional(),
    { section: "whatsapp", doc: "pin a Graph API version" },
  ),
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
