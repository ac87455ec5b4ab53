import type { Config } from "../config.ts";

const LOCAL = ["localhost", "127.0.0.1", "[::1]"];
const WILDCARD = new Set(["0.0.0.0", "::", "[::]", ""]);

/**
 * The host names a request to /mcp may carry in Host (and Origin, when a browser sends one): the
 * loopback names, the address agentd listens on unless it is a wildcard, and the host of
 * AGENTD_PUBLIC_URL. A page on another site that rebinds its DNS name to this machine's address
 * still sends its own name, and is refused (DNS-rebinding protection).
 */
export function allowedHostnames(config: Pick<Config, "host" | "connections" | "channels">): string[] {
  const names = new Set(LOCAL);
  const host = config.host.trim().toLowerCase();
  if (!WILDCARD.has(host)) names.add(host.includes(":") && !host.startsWith("[") ? `[${host}]` : host);
  for (const url of [config.connections.publicUrl, config.channels.publicUrl])
    if (url) {
      try {
        names.add(new URL(url).hostname.toLowerCase());
      } catch {
        // the configuration checked it: an unparsable URL never gets here
      }
    }
  return [...names];
}

/** What to do about a request refused for its Host or Origin, appended to the SDK's reason. */
export const HOST_ADVICE =
  "agentd's MCP endpoint answers only to the names it is known by (localhost, AGENTD_HOST, the host of AGENTD_PUBLIC_URL): " +
  "connect with one of them, or have the operator set AGENTD_PUBLIC_URL to the address clients use";
