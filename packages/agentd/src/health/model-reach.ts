import { ECHO_MODEL_ID } from "../agent/echo-model.ts";
import { type ModelConfig, NO_MODEL_HINT } from "../agent/model.ts";
import { networkCause } from "../net/cause.ts";
import { scrubUrls, showUrl } from "../net/url-secrets.ts";

/** Whether the model endpoint answers, as the overview shows it. */
export interface ModelReach {
  /**
   * reachable: it answered its model list with the key (and lists the model, when it lists any);
   * unreachable: no answer, or an error; refused: the key was refused; missing: it does not list the
   * model; builtin: the echo model; unchecked: a model passed in code, or none configured.
   */
  state: "reachable" | "unreachable" | "refused" | "missing" | "builtin" | "unchecked";
  /** What was found, or what is wrong and what to do; never the key nor the base URL's credentials. */
  detail: string;
  /** When it was asked (epoch ms), and how long the answer took. */
  checkedAt: number;
  latencyMs: number | null;
}

export interface ModelReachOptions {
  now: () => number;
  /** How long an answer is reused: the overview may be reloaded often, the endpoint is asked once a minute. */
  ttlMs?: number;
  /** A failure is asked again sooner, so a fixed endpoint shows up quickly. */
  failureTtlMs?: number;
  timeoutMs?: number;
}

/**
 * A cheap, cached check of the model endpoint: GET <base>/models with the key, which costs no tokens.
 * Never a completion (doctor may spend one; a page that anyone reloads must not). Callers at the same
 * moment share one request.
 */
export function modelReachability(m: ModelConfig, o: ModelReachOptions): () => Promise<ModelReach> {
  const ttl = o.ttlMs ?? 60_000;
  const failureTtl = o.failureTtlMs ?? 10_000;
  let last: ModelReach | null = null;
  let asking: Promise<ModelReach> | null = null;
  return () => {
    const now = o.now();
    if (last && now - last.checkedAt < (last.state === "reachable" ? ttl : failureTtl)) return Promise.resolve(last);
    asking ??= probeModel(m, now, o.timeoutMs ?? 5000).then((r) => {
      last = r;
      asking = null;
      return r;
    });
    return asking;
  };
}

async function probeModel(m: ModelConfig, now: number, timeoutMs: number): Promise<ModelReach> {
  const at = (state: ModelReach["state"], detail: string, latencyMs: number | null = null): ModelReach => ({
    state,
    detail,
    checkedAt: now,
    latencyMs,
  });
  if (m.model) return at("unchecked", "a model passed in code: agentd does not spend a call to check it");
  if (m.id === ECHO_MODEL_ID) return at("builtin", "echo, the built-in model: always there, answers with its own text");
  if (!m.apiKey && !m.baseURL) return at("unchecked", NO_MODEL_HINT);
  const url = (m.baseURL ?? "https://api.openai.com/v1").replace(/\/+$/, "");
  const base = showUrl(url);
  const started = performance.now();
  let res: Response;
  try {
    res = await fetch(withPath(url, "/models"), {
      headers: { accept: "application/json", ...(m.apiKey ? { authorization: `Bearer ${m.apiKey}` } : {}) },
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (e) {
    const fix = m.baseURL ? "start that server or fix AGENTD_MODEL_BASE_URL" : "check this machine's network access";
    return at("unreachable", `${base} does not answer: ${scrubUrls(networkCause(e), m.baseURL)}; ${fix}`);
  }
  const ms = Math.round(performance.now() - started);
  if (res.status === 401 || res.status === 403) {
    await res.body?.cancel();
    return at(
      "refused",
      `${base} refuses the API key (HTTP ${res.status}): check OPENAI_API_KEY / AGENTD_MODEL_API_KEY`,
      ms,
    );
  }
  if (!res.ok) {
    await res.body?.cancel();
    // It answered: some OpenAI-compatible servers do not serve the list. A completion would tell more, at a price.
    return at(
      res.status >= 500 ? "unreachable" : "reachable",
      `${base} answers (HTTP ${res.status} to its model list, which not every server serves)`,
      ms,
    );
  }
  const ids = await modelIds(res);
  if (ids.length > 0 && !offers(ids, m.id))
    return at("missing", `${base} answers but does not list ${m.id}: set AGENTD_MODEL to a model it offers`, ms);
  return at(
    "reachable",
    `${m.id} at ${base} answers and accepts the key${ids.length ? ", and lists the model" : ""}`,
    ms,
  );
}

/** The base URL with `path` appended to its path, its query (which may hold a key) kept. */
export function withPath(base: string, path: string): string {
  const u = new URL(base);
  u.pathname = `${u.pathname.replace(/\/+$/, "")}${path}`;
  return u.href;
}

/** The ids of an OpenAI-style model list (`{ data: [{ id }] }`); none when the body is something else. */
export async function modelIds(res: Response): Promise<string[]> {
  try {
    const body = (await res.json()) as { data?: { id?: unknown }[] };
    return (body.data ?? []).map((d) => d.id).filter((id): id is string => typeof id === "string");
  } catch {
    return [];
  }
}

/** Ollama lists "llama3.2:latest" and answers to "llama3.2" too. */
export const offers = (ids: string[], id: string) => ids.includes(id) || ids.includes(`${id}:latest`);
