import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import type http from "node:http";
import type { IncomingMessage } from "node:http";
import { isIP, type LookupFunction } from "node:net";
import type { Readable } from "node:stream";
import zlib from "node:zlib";
import type { NetPolicy } from "./policy.ts";
import { classifyAddress, METADATA_HOSTS } from "./address.ts";
import { BlockedAddressError, hostKey, NetError } from "./errors.ts";

/** Resolves a host name to every address it has (dns.lookup by default; tests pass their own). */
export type Resolver = (host: string) => Promise<LookupAddress[]>;

/** A URL that passed the guard, with the addresses that were checked: the connection goes to these only. */
export interface CheckedUrl {
  url: URL;
  /** The host name without IPv6 brackets, lower case. */
  host: string;
  port: number;
  addresses: LookupAddress[];
  /** Why it may be reached: a public address, the operator allowing private ones, or the host listed in allowHosts. */
  allowedBy: "public" | "allowPrivate" | "allowHosts";
}

export interface FetchInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
}

export interface GuardOptions {
  /** The body is cut at this many (decoded) bytes and `truncated` set. */
  maxBytes: number;
  /** One deadline for the whole exchange, redirects included. */
  timeoutMs: number;
  maxRedirects?: number;
  signal?: AbortSignal;
  /** Headers dropped when a redirect leaves the origin, besides authorization, cookie and proxy-authorization. */
  stripOnRedirect?: readonly string[];
  resolve?: Resolver;
}

export interface GuardedResponse {
  /** The final URL, after redirects. */
  url: string;
  status: number;
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: Buffer;
  truncated: boolean;
  /** Every URL redirected to, in order. */
  redirects: string[];
}

const systemResolve: Resolver = (host) =>
  new Promise((ok, fail) => dnsLookup(host, { all: true, verbatim: true }, (e, list) => (e ? fail(e) : ok(list))));

/**
 * Checks that a URL may be fetched under the policy: http(s) only, and neither the host name nor
 * ANY address it resolves to is private, loopback, link-local, metadata or otherwise special
 * (a name with one public and one private address is refused: the client may pick either).
 */
export async function checkUrl(
  input: string | URL,
  policy: NetPolicy,
  opts: { resolve?: Resolver; signal?: AbortSignal } = {},
): Promise<CheckedUrl> {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw new NetError("bad_url", String(input), `${JSON.stringify(String(input).slice(0, 200))} is not a valid URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw new NetError("bad_url", url.href, `only http and https URLs can be fetched, not ${url.protocol}`);
  if (url.username || url.password)
    throw new NetError(
      "bad_url",
      url.href,
      "URLs with credentials in them are refused; keep credentials in the vault and use http_request's auth",
    );
  const host = url.hostname.replace(/^\[|\]$/g, "").toLowerCase();
  const port = Number(url.port) || (url.protocol === "https:" ? 443 : 80);
  const listed = isListed(policy.allowHosts, host, port);
  const bare = host.replace(/\.$/, "");
  if (!listed && METADATA_HOSTS.has(bare))
    throw new BlockedAddressError(host, port, bare, { kind: "metadata", why: "a cloud metadata service" });

  let addresses: LookupAddress[];
  const family = isIP(host);
  if (family) addresses = [{ address: host, family }];
  else {
    try {
      addresses = await abortable((opts.resolve ?? systemResolve)(host), opts.signal);
    } catch (e) {
      if (opts.signal?.aborted) throw e;
      throw new NetError("dns", url.href, `could not resolve ${host}: ${(e as Error).message}`, { cause: e });
    }
    if (addresses.length === 0) throw new NetError("dns", url.href, `${host} has no addresses`);
  }
  if (listed) return { url, host, port, addresses, allowedBy: "allowHosts" };
  let allowedBy: CheckedUrl["allowedBy"] = "public";
  for (const a of addresses) {
    const reason = classifyAddress(a.address);
    if (!reason) continue;
    if (reason.kind === "range" && policy.allowPrivate) allowedBy = "allowPrivate";
    else throw new BlockedAddressError(host, port, a.address, reason);
  }
  return { url, host, port, addresses, allowedBy };
}

/** `host:port` or a bare `host` (any port) in the operator's list; IPv6 with or without brackets. */
function isListed(allowHosts: readonly string[], host: string, port: number): boolean {
  const key = hostKey(host, port);
  return allowHosts.some((h) => {
    const x = h.trim().toLowerCase();
    return x === key || x === host || x === `[${host}]`;
  });
}

/**
 * fetch for URLs that come from a model or a web page: every hop is checked with checkUrl, the
 * connection goes to the checked address only (a DNS answer that changes between the check and the
 * connect cannot redirect it), redirects are followed by hand, the body is capped and one deadline
 * covers everything.
 */
export async function guardedFetch(
  input: string | URL,
  init: FetchInit,
  policy: NetPolicy,
  opts: GuardOptions,
): Promise<GuardedResponse> {
  const deadline = AbortSignal.timeout(opts.timeoutMs);
  const signal = opts.signal ? AbortSignal.any([opts.signal, deadline]) : deadline;
  const maxRedirects = opts.maxRedirects ?? 5;
  const strip = new Set([
    "authorization",
    "cookie",
    "proxy-authorization",
    ...(opts.stripOnRedirect ?? []).map((h) => h.toLowerCase()),
  ]);
  let method = (init.method ?? "GET").toUpperCase();
  let headers = lowerKeys(init.headers ?? {});
  let body = init.body;
  let current = String(input);
  const redirects: string[] = [];
  try {
    for (;;) {
      const checked = await checkUrl(current, policy, { resolve: opts.resolve, signal });
      const res = await send(checked, method, headers, body, signal);
      const location = res.headers.location;
      if (isRedirect(res.statusCode) && location) {
        res.resume();
        if (redirects.length >= maxRedirects)
          throw new NetError(
            "too_many_redirects",
            checked.url.href,
            `${String(input)} redirected more than ${maxRedirects} times`,
          );
        const next = new URL(location, checked.url);
        // Browsers turn a redirected POST into a GET; 307/308 keep the method and body.
        if (
          res.statusCode === 303
            ? method !== "HEAD"
            : res.statusCode !== 307 && res.statusCode !== 308 && method === "POST"
        ) {
          method = "GET";
          body = undefined;
          headers = omit(headers, new Set(["content-type", "content-length"]));
        }
        // Credentials meant for one origin must not follow a redirect to another.
        if (next.origin !== checked.url.origin) headers = omit(headers, strip);
        current = next.href;
        redirects.push(current);
        continue;
      }
      const { body: bytes, truncated } = await readCapped(res, opts.maxBytes, checked.url.href);
      return {
        url: checked.url.href,
        status: res.statusCode ?? 0,
        headers: flatHeaders(res),
        body: bytes,
        truncated,
        redirects,
      };
    }
  } catch (e) {
    if (deadline.aborted && !opts.signal?.aborted)
      throw new NetError("timeout", current, `${current} did not answer within ${opts.timeoutMs} ms`, { cause: e });
    if (opts.signal?.aborted) throw opts.signal.reason ?? e;
    throw e;
  }
}

const isRedirect = (s: number | undefined) => s === 301 || s === 302 || s === 303 || s === 307 || s === 308;

/** One request to a checked URL, its socket pinned to the checked addresses; the response is not read. */
export function send(
  c: CheckedUrl,
  method: string,
  headers: Record<string, string>,
  body: string | Uint8Array | undefined,
  signal: AbortSignal,
  /** Sockets kept alive for these very checked addresses (stream-fetch.ts); none: a socket of its own. */
  agent?: http.Agent,
): Promise<IncomingMessage> {
  // The socket connects to a checked address whatever DNS says now; Host and TLS SNI keep the name.
  const pinned: LookupFunction = (_name, options, cb) => {
    const fam = options.family === 4 || options.family === 6 ? options.family : 0;
    const list = c.addresses.filter((a) => !fam || a.family === fam);
    const use = list.length ? list : c.addresses;
    if (options.all) (cb as (e: null, a: LookupAddress[]) => void)(null, use);
    else cb(null, (use[0] as LookupAddress).address, (use[0] as LookupAddress).family);
  };
  const h: Record<string, string> = { "user-agent": "agentd/0.1", accept: "*/*", ...headers };
  if (body !== undefined) h["content-length"] = String(Buffer.byteLength(body));
  // Not imported as ES modules: node:http's namespace reads its lazy exports, which loads undici at
  // every start (issue 22), and https (TLS) is needed only by the first request that goes out.
  const mod = process.getBuiltinModule(c.url.protocol === "https:" ? "node:https" : "node:http");
  return new Promise((ok, fail) => {
    const req = mod.request(
      {
        host: c.host,
        port: c.port,
        path: c.url.pathname + c.url.search,
        method,
        headers: h,
        lookup: pinned,
        agent: agent ?? false, // no pooled socket from an earlier, differently checked request
        signal,
        ...(c.url.protocol === "https:" && !isIP(c.host) ? { servername: c.host } : {}),
      },
      ok,
    );
    req.on("error", (e) =>
      fail(
        signal.aborted
          ? e
          : new NetError("network", c.url.href, `request to ${c.url.href} failed: ${e.message}`, { cause: e }),
      ),
    );
    req.end(body);
  });
}

/** Reads at most `max` decoded bytes, then hangs up: a huge or endless body costs nothing more. */
async function readCapped(
  res: IncomingMessage,
  max: number,
  url: string,
): Promise<{ body: Buffer; truncated: boolean }> {
  const enc = String(res.headers["content-encoding"] ?? "")
    .trim()
    .toLowerCase();
  const decoder =
    enc === "gzip" || enc === "x-gzip"
      ? zlib.createGunzip()
      : enc === "deflate"
        ? zlib.createInflate()
        : enc === "br"
          ? zlib.createBrotliDecompress()
          : null;
  const stream: Readable = decoder ? res.pipe(decoder) : res;
  if (decoder) res.on("error", (e) => decoder.destroy(e));
  const chunks: Buffer[] = [];
  let size = 0;
  let truncated = false;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      if (size + chunk.length > max) {
        chunks.push(chunk.subarray(0, max - size));
        size = max;
        truncated = true;
        break;
      }
      chunks.push(chunk);
      size += chunk.length;
    }
  } catch (e) {
    if ((e as { name?: string }).name === "AbortError") throw e;
    throw new NetError("bad_response", url, `reading the response of ${url} failed: ${(e as Error).message}`, {
      cause: e,
    });
  } finally {
    res.destroy();
    decoder?.destroy();
  }
  return { body: Buffer.concat(chunks), truncated };
}

function flatHeaders(res: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(", ") : v;
  return out;
}

function lowerKeys(h: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) out[k.toLowerCase()] = v;
  return out;
}

function omit(h: Record<string, string>, names: Set<string>): Record<string, string> {
  return Object.fromEntries(Object.entries(h).filter(([k]) => !names.has(k)));
}

/** DNS lookups cannot be cancelled; stop waiting for one when the caller gives up. */
function abortable<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((ok, fail) => {
    const onAbort = () => fail(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(ok, fail).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
