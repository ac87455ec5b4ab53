import { CSRF_HEADER, SESSION_COOKIE } from "../api/sessions.ts";

/** What the dashboard needs of the API app: answering a request in this process. */
export interface ApiApp {
  request(input: string, init?: RequestInit): Response | Promise<Response>;
}

/** An error answer of the API, as the page shows it. */
export class ApiAnswerError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = "ApiAnswerError";
    this.status = status;
    this.code = code;
  }
}

export type Query = Record<string, string | number | undefined | null>;

/**
 * The API as one signed-in browser reaches it: every page reads and acts through the same routes,
 * in this process, with the browser's own session cookie and CSRF token. What a tenant may see is
 * decided there and only there (another tenant's run is a 404 to the page as to the browser).
 */
export class SessionApi {
  readonly #api: ApiApp;
  readonly #headers: Record<string, string>;

  constructor(api: ApiApp, session: { id: string; csrf: string }, tenantId: string | null) {
    this.#api = api;
    this.#headers = {
      cookie: `${SESSION_COOKIE}=${session.id}`,
      [CSRF_HEADER]: session.csrf,
      ...(tenantId ? { "x-agentd-tenant": tenantId } : {}),
    };
  }

  get<T>(path: string, query: Query = {}): Promise<T> {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
    const s = q.toString();
    return this.#call<T>("GET", s ? `${path}?${s}` : path);
  }

  send<T>(method: "POST" | "PUT" | "PATCH" | "DELETE", path: string, body?: unknown): Promise<T> {
    return this.#call<T>(method, path, body);
  }

  /** A file for a message: stored as the tenant's blob, its attachment returned. */
  upload<T>(file: File): Promise<T> {
    const name = file.name ? `?name=${encodeURIComponent(file.name.slice(0, 200))}` : "";
    return this.#call<T>("POST", `/v1/blobs${name}`, file, file.type || "application/octet-stream");
  }

  /** A GET answered as it is (a file's bytes and headers); an error answer throws as the others do. */
  async raw(path: string): Promise<Response> {
    const res = await this.#request("GET", path);
    if (!res.ok) await answerError(res);
    return res;
  }

  #request(method: string, path: string, body?: unknown, type?: string): Promise<Response> {
    const raw = type !== undefined;
    return Promise.resolve(
      this.#api.request(`http://agentd.internal${path}`, {
        method,
        headers: {
          ...this.#headers,
          ...(body === undefined ? {} : { "content-type": raw ? type : "application/json" }),
        },
        ...(body === undefined ? {} : { body: raw ? (body as File) : JSON.stringify(body) }),
      }),
    );
  }

  async #call<T>(method: string, path: string, body?: unknown, type?: string): Promise<T> {
    const res = await this.#request(method, path, body, type);
    if (res.status === 204) return undefined as T;
    if (!res.ok) await answerError(res);
    const text = await res.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }
}

async function answerError(res: Response): Promise<never> {
  const text = await res.text();
  let e: { code?: string; message?: string } | undefined;
  try {
    e = (JSON.parse(text) as { error?: typeof e }).error;
  } catch {
    // not JSON: the status alone says it
  }
  throw new ApiAnswerError(res.status, e?.code ?? "error", e?.message ?? `the API answered ${res.status}`);
}
