import type { Agent, IncomingMessage } from "node:http";

// A model's streamed answer over node:http rather than fetch: fetch wraps the request and the body in
// web streams and its own machinery (about a fifth of a turn's CPU with a short answer), where a
// streamed chat answer needs a POST and the body's bytes. What fetch would have done on failure is
// kept: errors before an answer are fetch's `TypeError("fetch failed", { cause })`, a body that breaks
// fails with fetch's `TypeError("terminated")`, and both time out after fetch's 300 s without a byte.

/**
 * node:http or node:https, with its connections kept open between calls as fetch's pool does. Not
 * imported as ES modules: agentd start loads this file, and https (TLS) is needed only once a model is
 * called over it (test/app-lazy.test.ts holds the start to that; net/guard.ts does the same).
 */
const transports = new Map<"http" | "https", { request: typeof import("node:http").request; agent: Agent }>();
function transport(kind: "http" | "https") {
  let t = transports.get(kind);
  if (!t) {
    const mod = process.getBuiltinModule(kind === "https" ? "node:https" : "node:http");
    t = { request: mod.request as typeof import("node:http").request, agent: new mod.Agent({ keepAlive: true }) };
    transports.set(kind, t);
  }
  return t;
}

/** fetch's limits: 300 s for the answer's head, and between two pieces of its body. */
const IDLE_MS = 300_000;

/** A piece of the body, or its end. */
export type ReadResult = { done: false; value: Uint8Array } | { done: true; value?: Uint8Array | undefined };

/** A reader of the answer's body, as a web stream's reader reads: pieces, then done, or the error it broke with. */
export interface BodyReader {
  read(): Promise<ReadResult>;
  cancel(reason?: unknown): Promise<void>;
}

export interface HttpAnswer {
  status: number;
  statusText: string;
  /** As fetch's Response has them (names in lower case, repeated ones joined). */
  headers: Headers;
  body: BodyReader;
}

/** POSTs `body` to `url` with exactly `headers` (plus Host and Content-Length, as fetch adds them). */
export function postStream(
  url: string,
  headers: Record<string, string>,
  body: string,
  signal: AbortSignal | undefined,
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const failed = (e: unknown) => reject(isAbort(e) ? e : new TypeError("fetch failed", { cause: fetchCause(e) }));
    if (signal?.aborted) return failed(signal.reason);
    const u = new URL(url);
    const { request, agent } = transport(u.protocol === "https:" ? "https" : "http");
    const req = request(u, {
      method: "POST",
      agent,
      headers: { ...headers, "content-length": String(Buffer.byteLength(body)) },
      signal,
    });
    req.setTimeout(IDLE_MS, () => req.destroy(timeout("UND_ERR_HEADERS_TIMEOUT", "Headers Timeout Error")));
    req.once("error", failed);
    req.once("response", (res) => {
      req.off("error", failed);
      req.setTimeout(0);
      res.setTimeout(IDLE_MS, () => res.destroy(timeout("UND_ERR_BODY_TIMEOUT", "Body Timeout Error")));
      resolve({
        status: res.statusCode ?? 0,
        statusText: res.statusMessage ?? "",
        headers: headersOf(res.rawHeaders),
        body: reader(res),
      });
    });
    req.end(body);
  });
}

const isAbort = (e: unknown) => e instanceof Error && e.name === "AbortError";

/** The connection closed before an answer: fetch's words for it ("socket hang up" is node:http's). */
function fetchCause(e: unknown): unknown {
  const closed = e instanceof Error && (e as { code?: string }).code === "ECONNRESET" && e.message === "socket hang up";
  return closed ? Object.assign(new Error("other side closed", { cause: e }), { code: "UND_ERR_SOCKET" }) : e;
}

function timeout(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

function headersOf(raw: string[]): Headers {
  const h = new Headers();
  for (let i = 0; i + 1 < raw.length; i += 2) h.append(raw[i] as string, raw[i + 1] as string);
  return h;
}

/** The body's pieces as they come; it is read at the pace they arrive (a model's answer is bounded). */
function reader(res: IncomingMessage): BodyReader {
  const queue: Uint8Array[] = [];
  let ended = false;
  let error: unknown = null;
  let waiting: { resolve: (r: ReadResult) => void; reject: (e: unknown) => void } | null = null;
  const settle = () => {
    const w = waiting;
    if (!w) return;
    if (queue.length > 0) {
      waiting = null;
      w.resolve({ done: false, value: queue.shift() as Uint8Array });
    } else if (error !== null) {
      waiting = null;
      w.reject(error);
    } else if (ended) {
      waiting = null;
      w.resolve({ done: true, value: undefined });
    }
  };
  const broke = (cause: unknown) => {
    if (ended || error !== null) return;
    error = isAbort(cause) ? cause : new TypeError("terminated", { cause });
    settle();
  };
  res.on("data", (b: Buffer) => {
    queue.push(new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
    settle();
  });
  res.once("end", () => {
    ended = true;
    settle();
  });
  res.once("error", broke);
  res.once("close", () => {
    if (!res.complete) broke(Object.assign(new Error("other side closed"), { code: "UND_ERR_SOCKET" }));
  });
  return {
    read: () =>
      new Promise((resolve, reject) => {
        waiting = { resolve, reject };
        settle();
      }),
    cancel: async (reason) => {
      if (!ended) res.destroy();
      broke(reason);
      queue.length = 0;
    },
  };
}
