import { accessSync, constants, existsSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { ModelConfig } from "../agent/model.ts";
import { ECHO_MODEL_ID } from "../agent/echo-model.ts";
import { NO_MODEL_HINT } from "../agent/model.ts";
import { scrubUrls, showUrl } from "../net/url-secrets.ts";
import { checkBrowser } from "../tools/browser/doctor.ts";
import { checkSearch } from "../tools/web-search/doctor.ts";
import { checkSandbox } from "../sandbox/doctor.ts";
import { checkMedia } from "../media/doctor.ts";
import { checkComposio } from "../composio/doctor.ts";
import { checkFunction } from "../serverless/doctor.ts";
import { type Config, ConfigError, loadConfig, weakAdminToken } from "../config.ts";
import { envSummary } from "../config/docs.ts";
import { MIGRATIONS } from "../db/schema.ts";
import { modelIds, offers, withPath } from "../health/model-reach.ts";
import { ENV_KEY, KEY_FILE, loadMasterKeys, readKeyFile } from "../vault/keys.ts";
import { type CommandInput, parseCommand } from "./args.ts";
import { networkCause } from "./client.ts";
import { checkChannels } from "./doctor-channels.ts";
import { pgCause, probeStore, type StoreState } from "./probe.ts";
import { describeStore } from "./store.ts";

interface Check {
  name: string;
  ok: boolean;
  /** What was found, or for a failure what is wrong and how to fix it. */
  text: string;
}

const OS_LATEST = MIGRATIONS.at(-1)?.version ?? 0;
const MODEL_TIMEOUT_MS = 10_000;

/** `agentd doctor`: one line per check, ok or FAIL with the fix; exit 1 if any failed. Changes nothing. */
export async function doctor(input: CommandInput): Promise<number> {
  const p = parseCommand(input);
  let failed = 0;
  const report = (c: Check) => {
    if (!c.ok) failed++;
    process.stdout.write(`${c.ok ? "ok  " : "FAIL"}  ${c.name.padEnd(13)}${c.text}\n`);
  };
  // Settings first: with a wrong one, agentd would not start, and the checks below would test the wrong thing.
  let config: Config;
  try {
    config = loadConfig(input.env, p.config);
  } catch (e) {
    if (!ConfigError.is(e)) throw e;
    for (const problem of e.message.split("; ")) report({ name: "settings", ok: false, text: problem });
    process.stdout.write(`${failed} check(s) failed\n`);
    return 1;
  }
  report(checkSettings(input.env));
  const store = await checkStore(config);
  report(store.check);
  report(checkMasterKey(config, input.env, store.state));
  report(await checkModel(config.model));
  for (const c of await checkChannels(input.env)) report(c);
  for (const c of checkFunction(config, input.env)) report(c);
  report(await checkSearch(config.search, config.net));
  for (const c of checkMedia(config.media)) report(c);
  report(await checkComposio(config.composio, config.connections.publicUrl ?? config.channels.publicUrl));
  report(await checkBrowser(config.browser.chromium));
  report(await checkSandbox(config.sandbox, config.net));
  report(checkAdminToken(config.dataDir, input.env));
  process.stdout.write(failed ? `${failed} check(s) failed\n` : "all checks passed\n");
  return failed ? 1 : 0;
}

/** What the environment sets, by name (never a value); an AGENTD_ variable agentd does not read is a typo until shown otherwise. */
function checkSettings(env: NodeJS.ProcessEnv): Check {
  const { set, unknown } = envSummary(env);
  if (unknown.length > 0)
    return {
      name: "settings",
      ok: false,
      text: `${unknown
        .map((u) => `${u.name} is not a setting agentd reads${u.meant ? ` (did you mean ${u.meant}?)` : ""}`)
        .join("; ")}; see \`agentd help settings\``,
    };
  return {
    name: "settings",
    ok: true,
    text: set.length ? `valid: ${set.join(", ")}` : "none set: every default applies (see `agentd help settings`)",
  };
}

async function checkStore(c: Config): Promise<{ check: Check; state: StoreState | null }> {
  const name = "store";
  const where = describeStore(c);
  if (!c.databaseUrl) {
    const folder = writableFolder(c.dataDir);
    if (folder) return { check: { name, ok: false, text: folder }, state: null };
  }
  let state: StoreState;
  try {
    state = await probeStore(c);
  } catch (e) {
    const why = c.databaseUrl ? pgCause(c.databaseUrl, e) : `cannot read ${where}: ${(e as Error).message}`;
    return { check: { name, ok: false, text: `${why}; check DATABASE_URL and that the server is up` }, state: null };
  }
  const place = c.databaseUrl
    ? `${where} reachable`
    : existsSync(c.dataDir)
      ? `${where}, data folder writable`
      : `${where}, data folder created on first start`;
  if (state.osVersion > OS_LATEST)
    return {
      check: {
        name,
        ok: false,
        text: `${where}: the OS data is at schema version ${state.osVersion}, newer than this agentd (${OS_LATEST}): upgrade agentd`,
      },
      state,
    };
  const pending = OS_LATEST - state.osVersion;
  const parts = [
    state.kernelVersion ? `kernel schema v${state.kernelVersion}` : "kernel tables not created yet",
    state.osVersion ? `OS schema v${state.osVersion}` : "OS tables not created yet",
  ];
  const schema =
    state.kernelVersion === 0 || state.osVersion === 0
      ? `${parts.join(", ")} (made on first start, or now with \`agentd migrate\`)`
      : `${parts.join(", ")}${pending > 0 ? ` (${pending} OS migration(s) pending: applied on start, or now with \`agentd migrate\`)` : " (current)"}`;
  return { check: { name, ok: true, text: `${place}; ${schema}` }, state };
}

/** Null when the data folder is (or can be made) writable; else what is wrong and what to do. */
function writableFolder(dir: string): string | null {
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) return `${dir} is a file, not a folder: pass another --data (or AGENTD_DATA)`;
    const probe = join(dir, `.doctor-${process.pid}`);
    try {
      writeFileSync(probe, "");
      rmSync(probe);
      return null;
    } catch (e) {
      return `the data folder ${dir} is not writable (${(e as NodeJS.ErrnoException).code}): fix its owner or permissions, or pass another --data`;
    }
  }
  let parent = dirname(dir);
  while (!existsSync(parent) && dirname(parent) !== parent) parent = dirname(parent);
  try {
    accessSync(parent, constants.W_OK);
    return null;
  } catch {
    return `the data folder ${dir} does not exist and ${parent} is not writable, so it cannot be created: create it, or pass another --data`;
  }
}

function checkMasterKey(c: Config, env: NodeJS.ProcessEnv, state: StoreState | null): Check {
  const name = "master key";
  try {
    if (env[ENV_KEY] !== undefined) {
      const keys = loadMasterKeys(c.dataDir, env);
      const older = keys.all.size - 1;
      return {
        name,
        ok: true,
        text: `from ${ENV_KEY} (key ${keys.current.id}${older ? `, ${older} older key(s) for reading` : ""})`,
      };
    }
    const path = join(c.dataDir, KEY_FILE);
    if (!existsSync(path)) {
      if (state && state.secrets > 0)
        return {
          name,
          ok: false,
          text: `${path} is missing but the vault holds ${state.secrets} secret(s): restore the file from your backup (mode 0600)`,
        };
      return {
        name,
        ok: true,
        text: `${path} not there yet: agentd creates it (mode 0600) on first start; back it up then`,
      };
    }
    const keys = readKeyFile(path); // refuses a file others can read, and a malformed one
    return { name, ok: true, text: `${path} (key ${keys.current.id}, mode 0600)` };
  } catch (e) {
    return { name, ok: false, text: (e as Error).message };
  }
}

/** Asks the model endpoint for its model list with the key (or, if it has none, for a one-token completion). */
async function checkModel(m: ModelConfig): Promise<Check> {
  const name = "model";
  if (m.id === ECHO_MODEL_ID && !m.model)
    return {
      name,
      ok: true,
      text: "echo, the built-in model: it answers each message with its own text (set a real model to chat)",
    };
  if (!m.apiKey && !m.baseURL) return { name, ok: false, text: NO_MODEL_HINT };
  const url = (m.baseURL ?? "https://api.openai.com/v1").replace(/\/+$/, "");
  // What is printed: the URL without the credentials it may carry (user:password@, ?api-key=).
  const base = showUrl(url);
  const headers: Record<string, string> = {
    accept: "application/json",
    ...(m.apiKey ? { authorization: `Bearer ${m.apiKey}` } : {}),
  };
  const keyVars = "check OPENAI_API_KEY / AGENTD_MODEL_API_KEY";
  const call = async (path: string, init: RequestInit = {}) => {
    try {
      return await fetch(withPath(url, path), {
        ...init,
        headers: { ...headers, ...(init.headers as Record<string, string>) },
        signal: AbortSignal.timeout(MODEL_TIMEOUT_MS),
      });
    } catch (e) {
      const fix = m.baseURL ? "start that server or fix AGENTD_MODEL_BASE_URL" : "check this machine's network access";
      throw new Error(
        `cannot reach the model endpoint ${base}${path}: ${scrubUrls(networkCause(e), m.baseURL)}; ${fix}`,
      );
    }
  };
  const refused = (status: number) => `the model endpoint ${base} refuses the API key (HTTP ${status}): ${keyVars}`;
  try {
    const res = await call("/models");
    if (res.status === 401 || res.status === 403) return { name, ok: false, text: refused(res.status) };
    if (res.ok) {
      const ids = await modelIds(res);
      const missing = [m.id, ...(m.embeddingId ? [m.embeddingId] : [])].filter(
        (id) => ids.length > 0 && !offers(ids, id),
      );
      if (missing.length > 0) {
        const listed = ids.slice(0, 8).join(", ") + (ids.length > 8 ? ", …" : "");
        return {
          name,
          ok: false,
          text: `${base} does not offer ${missing.join(" or ")} (it lists ${listed}): set AGENTD_MODEL${m.embeddingId ? " / AGENTD_EMBEDDING_MODEL" : ""} to one it offers`,
        };
      }
      return {
        name,
        ok: true,
        text: `${m.id} at ${base}: the endpoint answers and accepts the key${ids.length ? ", and lists the model" : ""}`,
      };
    }
    // Not every OpenAI-compatible server lists its models: a one-token completion tells as much.
    const done = await call("/chat/completions", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: m.id, messages: [{ role: "user", content: "Say ok." }], max_tokens: 1 }),
    });
    if (done.status === 401 || done.status === 403) return { name, ok: false, text: refused(done.status) };
    if (done.status === 404)
      return {
        name,
        ok: false,
        text: `${base} does not know model ${m.id} (HTTP 404): check AGENTD_MODEL and AGENTD_MODEL_BASE_URL`,
      };
    if (!done.ok)
      return {
        name,
        ok: false,
        text: `${base} answered a test completion with HTTP ${done.status}: ${await errorText(done)}`,
      };
    return { name, ok: true, text: `${m.id} at ${base}: a test completion succeeded` };
  } catch (e) {
    return { name, ok: false, text: (e as Error).message };
  }
}

async function errorText(res: Response): Promise<string> {
  try {
    const body = (await res.json()) as { error?: { message?: string } | string };
    const msg = typeof body.error === "string" ? body.error : body.error?.message;
    return (msg ?? "no reason given").slice(0, 200);
  } catch {
    return "no reason given";
  }
}

function checkAdminToken(dataDir: string, env: NodeJS.ProcessEnv): Check {
  const name = "admin token";
  const token = env.AGENTD_ADMIN_TOKEN;
  if (token !== undefined) {
    const weak = weakAdminToken(token);
    if (weak)
      return {
        name,
        ok: false,
        text: `AGENTD_ADMIN_TOKEN is too weak (${weak}): use a long random value (\`openssl rand -base64 32\`)`,
      };
    return { name, ok: true, text: "from AGENTD_ADMIN_TOKEN" };
  }
  const path = join(dataDir, "admin.token");
  if (!existsSync(path))
    return { name, ok: true, text: `${path} not there yet: agentd writes it (mode 0600) on first start` };
  const mode = statSync(path).mode & 0o777;
  if (process.platform !== "win32" && (mode & 0o077) !== 0)
    return {
      name,
      ok: false,
      text: `${path} can be read by other users (mode ${mode.toString(8).padStart(4, "0")}): run \`chmod 600 ${path}\``,
    };
  if (readFileSync(path, "utf8").trim() === "")
    return { name, ok: false, text: `${path} is empty: delete it and agentd writes a new token on its next start` };
  return { name, ok: true, text: `${path} (mode 0600; never printed: read it from there)` };
}
