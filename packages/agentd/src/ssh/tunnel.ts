import type { LookupAddress } from "node:dns";
import type { Duplex } from "node:stream";
import WebSocket, { createWebSocketStream } from "ws";
import { AgentdError } from "../errors.ts";
import { checkUrl } from "../net/guard.ts";
import type { NetPolicy } from "../net/policy.ts";

/** The bytes of one SSH connection as a WebSocket carries them: binary frames, nothing else. */
export const TUNNEL_PROTOCOL = "binary";

/**
 * Opens a WebSocket to a relay (agentd's own or websockify) and returns it as a stream for ssh2's
 * `sock`. The relay's URL passes the SSRF guard and the connection goes to the address it checked
 * (a DNS answer that changes in between cannot redirect it); the token rides as a bearer header.
 */
export async function openTunnel(
  url: string,
  token: string | null,
  net: NetPolicy,
  opts: { timeoutMs: number; signal?: AbortSignal },
): Promise<Duplex> {
  const checked = await checkUrl(url.replace(/^ws/, "http"), net, opts.signal ? { signal: opts.signal } : {});
  const pinned = checked.addresses[0] as LookupAddress;
  const ws = new WebSocket(url, [TUNNEL_PROTOCOL], {
    headers: token ? { authorization: `Bearer ${token}` } : {},
    handshakeTimeout: opts.timeoutMs,
    followRedirects: false,
    perMessageDeflate: false,
    maxPayload: 4 * 1024 * 1024,
    // Every lookup answers the checked address (Node asks for a list when it races address families).
    lookup: ((_host: string, o: { all?: boolean }, cb: (...a: unknown[]) => void) =>
      o?.all ? cb(null, [pinned]) : cb(null, pinned.address, pinned.family)) as never,
  });
  await new Promise<void>((resolve, reject) => {
    const fail = (why: string) => {
      ws.terminate();
      reject(new AgentdError("ssh_failed", `the tunnel to ${new URL(url).host} failed: ${why}`));
    };
    ws.once("open", () => resolve());
    ws.once("unexpected-response", (_req, res) =>
      fail(
        res.statusCode === 401 || res.statusCode === 403
          ? `the relay refused the token (HTTP ${res.statusCode})`
          : `HTTP ${res.statusCode}`,
      ),
    );
    ws.once("error", (e) => fail(e.message));
    opts.signal?.addEventListener("abort", () => fail("stopped"), { once: true });
  });
  return createWebSocketStream(ws);
}
