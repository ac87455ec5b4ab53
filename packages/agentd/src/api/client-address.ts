import ipaddr from "ipaddr.js";

/**
 * The address a request comes from. The peer's, unless the peer is one of the operator's reverse
 * proxies (AGENTD_TRUSTED_PROXIES): then the nearest address in X-Forwarded-For that is not a trusted
 * proxy. A client cannot pick its own address by sending the header: it is read only from a proxy.
 */
export function clientAddress(
  peer: string,
  forwardedFor: string | undefined,
  trusted: readonly TrustedRange[],
): string {
  if (!forwardedFor || !isTrusted(peer, trusted)) return peer;
  const hops = forwardedFor
    .split(",")
    .map((h) => h.trim())
    .filter(Boolean);
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i] as string;
    if (!ipaddr.isValid(hop)) return peer; // a malformed chain: count it against the proxy, not a made-up address
    if (!isTrusted(hop, trusted)) return hop;
  }
  return peer;
}

export type TrustedRange = [ipaddr.IPv4 | ipaddr.IPv6, number];

/** Parses "10.0.0.1, 172.16.0.0/12, ::1" into ranges; the error names the entry. */
export function parseTrustedProxies(list: string): TrustedRange[] {
  return list
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry) => {
      try {
        return entry.includes("/")
          ? ipaddr.parseCIDR(entry)
          : (() => {
              const ip = ipaddr.parse(entry);
              return [ip, ip.kind() === "ipv4" ? 32 : 128] as TrustedRange;
            })();
      } catch {
        throw new Error(`"${entry}" is not an IP address or CIDR range`);
      }
    });
}

function isTrusted(address: string, trusted: readonly TrustedRange[]): boolean {
  if (trusted.length === 0 || !ipaddr.isValid(address)) return false;
  const ip = ipaddr.process(address);
  return trusted.some(([range, bits]) => ip.kind() === range.kind() && ip.match(range as never, bits));
}
