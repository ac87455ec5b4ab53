import { WhatsAppAPI } from "whatsapp-api-js";
import { AgentdError } from "../../errors.ts";

/** Where Meta serves the Graph API (the Cloud API's messages, media and marks). */
export const GRAPH_ORIGIN = "https://graph.facebook.com";
/** The Graph API version agentd is written against; WHATSAPP_API_VERSION pins another. */
export const GRAPH_VERSION = "v24.0";

/** Graph API error codes that mean "too fast: wait a few seconds and send again" (account, throughput and per-recipient limits). */
const RATE_LIMITED = new Set([80007, 130429, 131056]);
/** Limits that seconds do not clear (the app's hourly calls, the spam limit): the delivery is retried much later. */
const THROTTLED = new Set([4, 131048]);
const THROTTLED_WAIT_MS = 10 * 60_000;
/** Outside the 24-hour customer-service window: free-form messages are refused until the person writes again. */
export const WINDOW_CLOSED = 131047;
/** Graph API error codes that mean "Meta had a problem: try again". */
const TRANSIENT = new Set([1, 2, 131000, 131016, 133004]);
/** The per-recipient limit (131056) allows about one message every six seconds to one person. */
const PAIR_LIMIT_WAIT_MS = 6_000;

/**
 * The Graph API said no. `code` is Meta's error code (https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes);
 * the message never holds the access token (it travels in a header, and Meta does not echo it).
 */
export class GraphApiError extends AgentdError<"graph_api"> {
  /** The HTTP status the Graph API answered with. */
  readonly status: number;
  /** Meta's error code, when the answer has one. */
  readonly graphCode: number | null;
  /** How long to wait before trying again, when the answer says (or its code implies) so. */
  readonly retryAfterMs: number | null;
  constructor(status: number, graphCode: number | null, message: string, retryAfterMs: number | null) {
    super("graph_api", message);
    this.status = status;
    this.graphCode = graphCode;
    this.retryAfterMs = retryAfterMs;
  }

  /** Too fast: waiting a few seconds and sending again works. */
  get rateLimited(): boolean {
    return this.status === 429 || (this.graphCode !== null && RATE_LIMITED.has(this.graphCode));
  }

  get throttled(): boolean {
    return this.graphCode !== null && THROTTLED.has(this.graphCode);
  }

  /**
   * Meta may have acted on the request before failing (a 5xx, a timeout, "something went wrong"):
   * whether a message went out is unknown until its status report comes, or does not.
   */
  get ambiguous(): boolean {
    return this.status >= 500 || this.status === 408 || (this.graphCode !== null && TRANSIENT.has(this.graphCode));
  }

  /** Sending the same request again cannot succeed: a bad request, a revoked token, a closed 24-hour window. */
  get permanent(): boolean {
    return !(this.rateLimited || this.throttled || this.ambiguous);
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
  /** The longest one API request may take (default 30 s). */
  timeoutMs?: number;
  /** The longest one media download may take, body included (default 5 min). */
  mediaTimeoutMs?: number;
}

/**
 * The Cloud API client: the `whatsapp-api-js` library (message builders, signature checks, the
 * request shapes) over a fetch that rebases Meta's origin when asked and turns every non-2xx answer
 * into a GraphApiError, so no caller mistakes an error body for a result.
 */
export function whatsappClient(o: ClientOptions): WhatsAppAPI {
  const base = o.apiBaseUrl ? o.apiBaseUrl.replace(/\/+$/, "") : null;
  const timeoutMs = o.timeoutMs ?? 30_000;
  const mediaTimeoutMs = o.mediaTimeoutMs ?? 300_000;
  const graphFetch: typeof fetch = async (input, init) => {
    let url = input instanceof Request ? input.url : String(input);
    const graph = url.startsWith(`${GRAPH_ORIGIN}/`);
    if (base && graph) url = base + url.slice(GRAPH_ORIGIN.length);
    // Never followed blindly: a redirect would carry the token's request elsewhere (media.ts follows them by hand).
    // Media bodies get longer than API calls: the timeout covers the whole download.
    const res = await fetch(url, {
      ...init,
      redirect: "manual",
      signal: AbortSignal.timeout(graph ? timeoutMs : mediaTimeoutMs),
    });
    if (res.ok || (res.status >= 300 && res.status < 400)) return res;
    throw await graphError(res);
  };
  return new WhatsAppAPI({
    token: o.token,
    appSecret: o.appSecret,
    v: o.version ?? GRAPH_VERSION,
    ponyfill: { fetch: graphFetch },
  });
}

async function graphError(res: Response): Promise<GraphApiError> {
  let code: number | null = null;
  let message = `the Graph API answered HTTP ${res.status}`;
  try {
    const body = (await res.json()) as {
      error?: { code?: number; message?: string; error_data?: { details?: string } };
    };
    if (body.error) {
      code = typeof body.error.code === "number" ? body.error.code : null;
      const details = body.error.error_data?.details;
      message = `WhatsApp refused the request (HTTP ${res.status}, error ${code ?? "?"}): ${body.error.message ?? ""}${details ? ` (${details})` : ""}`;
    }
  } catch {
    // Not JSON (a proxy's page): the status says enough.
  }
  const header = Number(res.headers.get("retry-after"));
  const retryAfterMs =
    Number.isFinite(header) && header > 0
      ? header * 1000
      : code === 131056
        ? PAIR_LIMIT_WAIT_MS
        : code !== null && THROTTLED.has(code)
          ? THROTTLED_WAIT_MS
          : null;
  return new GraphApiError(res.status, code, message, retryAfterMs);
}
