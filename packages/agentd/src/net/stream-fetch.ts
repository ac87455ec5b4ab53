import http from "node:http";
import https from "node:https";
import { Readable, Transform } from "node:stream";
import { type CheckedUrl, checkUrl, type Resolver, send } from "./guard.ts";
import { NetError } from "./errors.ts";
import type { NetPolicy } from "./policy.ts";

/** What a WHATWG fetch takes: enough for clients that accept a `fetch` option (the MCP SDK's transports). */
export type FetchFn = (input: string | URL, init?: RequestInit) => Promise<Response>;

/**
 * A `fetch` for long-lived exchanges with a URL a tenant gave (an MCP server's streamable HTTP and
 * SSE streams): every request's URL passes `checkUrl` and its socket connects to the checked
 * addresses only, like `guardedFetch`; but the body is streamed as it arrives (an event stream
 * never ends), cut with an error past `maxBytes` per response. Redirects are not followed here: the
 * caller sees the 3xx, and a request it makes to the new URL is checked again.
 */
export function streamingFetch(
  policy: NetPolicy,
  opts: { maxBytes: number; resolve?: Resolver },
): FetchFn & { close(): void } {
  // Sockets kept alive per checked destination (scheme, host, port and the very addresses checked):
  // an MCP session's requests reuse one connection instead of a TCP (and TLS) handshake each, and a
  // socket is never reused for a request whose addresses were checked differently.
  const agents = new Map<string, http.Agent>();
  const agentFor = (c: CheckedUrl): http.Agent => {
    const key = `${c.url.protocol}//${c.host}:${c.port}|${c.addresses
      .map((a) => a.address)
      .sort()
      .join(",")}`;
    let agent = agents.get(key);
    if (!agent) {
      const Agent = c.url.protocol === "https:" ? https.Agent : http.Agent;
      agent = new Agent({ keepAlive: true, maxSockets: 8, maxFreeSockets: 2, timeout: 5 * 60_000 });
      agents.set(key, agent);
      if (agents.size > 8) {
        const [oldest, a] = agents.entries().next().value as [string, http.Agent];
        a.destroy();
        agents.delete(oldest);
      }
    }
    return agent;
  };
  const fetch: FetchFn = async (input, init = {}) => {
    const href = typeof input === "string" ? input : input.href;
    const signal = init.signal ?? new AbortController().signal;
    const checked = await checkUrl(href, policy, { resolve: opts.resolve, signal });
    const headers: Record<string, string> = {};
    new Headers(init.headers).forEach((v, k) => {
      headers[k] = v;
    });
    // A form (the MCP SDK's token and refresh requests) is sent as fetch would: encoded, with its type.
    const form = init.body instanceof URLSearchParams;
    const body = form ? String(init.body) : init.body;
    if (form && !headers["content-type"]) headers["content-type"] = "application/x-www-form-urlencoded;charset=UTF-8";
    if (body !== undefined && body !== null && typeof body !== "string" && !(body instanceof Uint8Array))
      throw new TypeError("this fetch sends string or byte bodies only");
    const res = await send(
      checked,
      (init.method ?? "GET").toUpperCase(),
      headers,
      body ?? undefined,
      signal,
      agentFor(checked),
    );
    const out = new Headers();
    for (const [k, v] of Object.entries(res.headers))
      if (v !== undefined) for (const one of Array.isArray(v) ? v : [v]) out.append(k, one);
    const status = res.statusCode ?? 502;
    if (status === 204 || status === 205 || status === 304 || (init.method ?? "GET").toUpperCase() === "HEAD") {
      res.resume();
      return new Response(null, { status, headers: out });
    }
    let seen = 0;
    const capped = new Transform({
      transform(chunk: Buffer, _enc, done) {
        seen += chunk.length;
        if (seen > opts.maxBytes)
          done(
            new NetError(
              "bad_response",
              checked.url.href,
              `${checked.url.host} sent more than ${opts.maxBytes} bytes in one response`,
            ),
          );
        else done(null, chunk);
      },
    });
    res.on("error", (e) => capped.destroy(e));
    capped.on("close", () => res.destroy());
    return new Response(Readable.toWeb(res.pipe(capped)) as ReadableStream<Uint8Array>, {
      status,
      statusText: res.statusMessage ?? "",
      headers: out,
    });
  };
  return Object.assign(fetch, {
    /** Closes the sockets kept alive (the MCP connection using this fetch closed). */
    close: () => {
      for (const a of agents.values()) a.destroy();
      agents.clear();
    },
  });
}
