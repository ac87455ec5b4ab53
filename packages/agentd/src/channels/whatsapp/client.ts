import { WhatsAppAPI } from "whatsapp-api-js";

/** Where Meta serves the Graph API (the Cloud API's messages, media and marks). */
export const GRAPH_ORIGIN = "https://graph.facebook.com";
/** The Graph API version agentd is written against; WHATSAPP_API_VERSION pins another. */
export const GRAPH_VERSION = "v24.0";

/** Graph API error codes that mean "too fast: wait and send again" (app, account, throughput, spam and per-recipient limits). */
const RATE_LIMITED = new Set([4, 80007, 130429, 131048, 131056]);
/** Graph API error codes that mean "Meta had a problem: try again". */
const TRANSIENT = new Set([1, 2, 131000, 131016, 133004]);
/** The per-recipient limit (131056) allows about one message every six seconds to one person. */
const PAIR_LIMIT_WAIT_MS = 6_000;

/**
 * The Graph API said no. `code` is Meta's error code (https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes);
 * the message never holds the access token (it travels in a header, and Meta does not echo it).
 */
export class GraphApiError extends Error {
  readonly status: number;
  readonly code: number | null;
  /** How long to wait before trying again, when the answer says (or its code implies) so. */
  readonly retryAfterMs: number | null;
  constructor(status: number, code: number | null, message: string, retryAfterMs: number | null) {
    super(message);
    this.name = "GraphApiError";
    this.status = status;
    this.code = code;
    this.retryAfterMs = retryAfterMs;
  }

  static is(e: unknown): e is GraphApiError {
    return e instanceof GraphApiError;
  }

  get rateLimited(): boolean {
    return this.status === 429 || (this.code !== null && RATE_LIMITED.has(this.code));
  }

  /** Sending the same request again cannot succeed: a bad request, a revoked token, a closed 24-hour window. */
  get permanent(): boolean {
    if (this.rateLimited || this.status >= 500 || this.status === 408) return false;
    return !(this.code !== null && TRANSIENT.has(this.code));
  }
}

export interface ClientOptions {
  /** A system user's access token with whatsapp_business_messaging. */
  token: string;
  /** The Meta app's secret: webhooks are signed with it (X-Hub-Signature-256). */
  appSecret: string;
  /** The Graph API version (default GRAPH_VERSION). */
  version?: string;
  /** Another origin for the Graph API (a local stand-in in tests); requests for graph.facebook.com go there. */
  apiBaseUrl?: string;
  /** The longest one request may take (default 30 s). */
  timeoutMs?: number;
}

/**
 * The Cloud API client: the `whatsapp-api-js` library (message builders, signature checks, the
 * request shapes) over a fetch that rebases Meta's origin when asked and turns every non-2xx answer
 * into a GraphApiError, so no caller mistakes an error body for a result.
 */
export function whatsappClient(o: ClientOptions): WhatsAppAPI {
  const base = o.apiBaseUrl ? o.apiBaseUrl.replace(/\/+$/, "") : null;
  const timeoutMs = o.timeoutMs ?? 30_000;
  const graphFetch: typeof fetch = async (input, init) => {
    let url = input instanceof Request ? input.url : String(input);
    if (base && url.startsWith(`${GRAPH_ORIGIN}/`)) url = base + url.slice(GRAPH_ORIGIN.length);
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
    if (res.ok) return res;
    throw await graphError(res);
  };
  return new WhatsAppAPI({ token: o.token, appSecret: o.appSecret, v: o.version ?? GRAPH_VERSION, ponyfill: { fetch: graphFetch } });
}

async function graphError(res: Response): Promise<GraphApiError> {
  let code: number | null = null;
  let message = `the Graph API answered HTTP ${res.status}`;
  try {
    const body = (await res.json()) as { error?: { code?: number; message?: string; error_data?: { details?: string } } };
    if (body.error) {
      code = typeof body.error.code === "number" ? body.error.code : null;
      const details = body.error.error_data?.details;
      message = `WhatsApp refused the request (HTTP ${res.status}, error ${code ?? "?"}): ${body.error.message ?? ""}${details ? ` (${details})` : ""}`;
    }
  } catch {
    // Not JSON (a proxy's page): the status says enough.
  }
  const header = Number(res.headers.get("retry-after"));
  const retryAfterMs = Number.isFinite(header) && header > 0 ? header * 1000 : code === 131056 ? PAIR_LIMIT_WAIT_MS : null;
  return new GraphApiError(res.status, code, message, retryAfterMs);
}
