// Local stand-ins for the three search APIs web_search speaks, each answering its documented request
// with its documented response and error shapes, on a real socket on 127.0.0.1.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface SeenRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage["headers"];
  body: any;
}

/** A scripted answer for the next request: status, headers, body (an object is sent as JSON). */
export interface Canned {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

export interface StandIn {
  url: string;
  requests: SeenRequest[];
  /** Answers for the next requests, in order, before the normal answer resumes. */
  next(...answers: Canned[]): void;
  close(): Promise<void>;
}

/** Three results about `q`; the second has highlight tags and entities, as providers send them. */
export function hits(q: string) {
  return [
    {
      title: `${q}: the first result`,
      url: "https://one.example/a",
      text: `All about ${q}.`,
      date: "2026-11-30T08:00:00",
    },
    {
      title: `<strong>${q}</strong> &amp; more`,
      url: "https://two.example/b",
      text: `It&#x27;s <strong>${q}</strong> again`,
      date: null,
    },
    { title: "Third", url: "https://three.example/c", text: "", date: null },
    { title: "Not a web page", url: "javascript:alert(1)", text: "dropped", date: null },
    { title: "Fifth", url: "https://five.example/e", text: "five", date: null },
    { title: "Sixth", url: "https://six.example/f", text: "six", date: null },
    { title: "Seventh", url: "https://seven.example/g", text: "seven", date: null },
  ];
}

async function serve(answer: (r: SeenRequest) => Canned): Promise<StandIn> {
  const requests: SeenRequest[] = [];
  const queue: Canned[] = [];
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    let raw = "";
    for await (const c of req) raw += c;
    const u = new URL(req.url ?? "/", "http://x");
    const seen: SeenRequest = {
      method: req.method ?? "GET",
      path: u.pathname,
      query: u.searchParams,
      headers: req.headers,
      body: raw ? safeJson(raw) : undefined,
    };
    requests.push(seen);
    const a = queue.shift() ?? answer(seen);
    const isJson = typeof a.body === "object" && a.body !== null;
    res.writeHead(a.status, { "content-type": isJson ? "application/json" : "text/html", ...a.headers });
    res.end(isJson ? JSON.stringify(a.body) : String(a.body ?? ""));
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    next: (...answers) => void queue.push(...answers),
    close: () => {
      server.closeAllConnections();
      return new Promise((ok) => server.close(() => ok()));
    },
  };
}

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return s;
  }
}

/** SearXNG: GET /search?q&format=json; without format=json (or with JSON off) it answers 403 Forbidden in HTML. */
export function startSearxng(): Promise<StandIn> {
  return serve((r) => {
    if (r.path !== "/search") return { status: 404, body: "<h1>Not Found</h1>" };
    if (r.query.get("format") !== "json") return { status: 403, body: "<h1>Forbidden</h1>" };
    const q = r.query.get("q") ?? "";
    return {
      status: 200,
      body: {
        query: q,
        number_of_results: 0,
        results: hits(q).map((h) => ({
          url: h.url,
          title: h.title,
          content: h.text,
          engine: "duckduckgo",
          score: 1,
          category: "general",
          ...(h.date ? { publishedDate: h.date } : {}),
        })),
        answers: [],
        corrections: [],
        infoboxes: [],
        suggestions: [],
        unresponsive_engines: [],
      },
    };
  });
}

/** Brave: GET /res/v1/web/search?q&count with X-Subscription-Token; a wrong token is 422 SUBSCRIPTION_TOKEN_INVALID. */
export function startBrave(key: string): Promise<StandIn> {
  return serve((r) => {
    if (r.path !== "/res/v1/web/search")
      return { status: 404, body: braveError(404, "RESOURCE_NOT_FOUND", "Resource not found.") };
    if (r.headers["x-subscription-token"] !== key)
      return {
        status: 422,
        body: braveError(422, "SUBSCRIPTION_TOKEN_INVALID", "The provided subscription token is invalid."),
      };
    const q = r.query.get("q") ?? "";
    const count = Math.min(Number(r.query.get("count") ?? 20), 20);
    return {
      status: 200,
      headers: {
        "x-ratelimit-limit": "1, 15000",
        "x-ratelimit-remaining": "0, 14999",
        "x-ratelimit-reset": "1, 1419704",
      },
      body: {
        type: "search",
        query: { original: q, more_results_available: true },
        web: {
          type: "search",
          family_friendly: true,
          results: hits(q)
            .slice(0, count)
            .map((h) => ({
              type: "search_result",
              title: h.title,
              url: h.url,
              description: h.text,
              ...(h.date ? { page_age: h.date, age: "6 days ago" } : {}),
            })),
        },
      },
    };
  });
}

export function braveError(status: number, code: string, detail: string) {
  return { type: "ErrorResponse", error: { id: "0d7a8b4c", status, code, detail, meta: {} }, time: 1733400000 };
}

/** Tavily: POST /search with a Bearer key; a wrong key is 401 { detail: { error } }. */
export function startTavily(key: string): Promise<StandIn> {
  return serve((r) => {
    if (r.method !== "POST" || r.path !== "/search") return { status: 404, body: { detail: "Not Found" } };
    if (r.headers.authorization !== `Bearer ${key}`)
      return { status: 401, body: { detail: { error: "Unauthorized: missing or invalid API key." } } };
    const q = String(r.body?.query ?? "");
    const max = Number(r.body?.max_results ?? 5);
    return {
      status: 200,
      body: {
        query: q,
        follow_up_questions: null,
        answer: null,
        images: [],
        response_time: 0.42,
        request_id: "123e4567-e89b",
        results: hits(q)
          .slice(0, max)
          .map((h) => ({
            title: h.title,
            url: h.url,
            content: h.text,
            score: 0.8,
            raw_content: null,
            ...(h.date ? { published_date: h.date } : {}),
          })),
      },
    };
  });
}
