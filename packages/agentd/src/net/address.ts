import ipaddr from "ipaddr.js";
import type { BlockReason } from "./errors.ts";

/**
 * Cloud metadata services hand out credentials to whoever asks from inside the machine; they stay
 * refused even when private addresses are allowed. (AWS/GCP/Azure/OpenStack, ECS tasks, AWS IPv6, Alibaba.)
 */
const METADATA_ADDRESSES = new Set(["169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200"]);
export const METADATA_HOSTS = new Set([
  "metadata.google.internal",
  "metadata.goog",
  "metadata",
  "instance-data",
  "instance-data.ec2.internal",
]);

const WHY: Record<string, string> = {
  private: "a private address",
  loopback: "a loopback address",
  linkLocal: "a link-local address",
  carrierGradeNat: "a carrier-grade NAT address",
  unspecified: "an unspecified address",
  broadcast: "the broadcast address",
  multicast: "a multicast address",
  reserved: "a reserved address",
  uniqueLocal: "a unique-local address",
  deprecatedSiteLocal: "a site-local address",
};

/**
 * Why an address must not be reached from inside, or null for an ordinary public unicast address.
 * Deny by default: anything ipaddr.js does not call "unicast" is refused, so a range we forgot to
 * list (documentation, benchmarking, NAT64 of a private address) is refused too.
 */
export function classifyAddress(address: string): BlockReason | null {
  let ip: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    ip = ipaddr.parse(address.replace(/^\[|\]$/g, "").replace(/%.*$/, ""));
  } catch {
    return { kind: "range", range: "invalid", why: "not a valid IP address" };
  }
  const canonical = ip.toString();
  if (METADATA_ADDRESSES.has(canonical)) return { kind: "metadata", why: "a cloud metadata service" };
  if (ip.kind() === "ipv6") {
    const embedded = embeddedIPv4(ip as ipaddr.IPv6);
    if (embedded) {
      const inner = classifyAddress(embedded.address);
      return inner && { ...inner, why: `${inner.why} (${embedded.how} ${embedded.address})` };
    }
  }
  const range = ip.range();
  if (range === "unicast") return null;
  return { kind: "range", range, why: WHY[range] ?? `an address in a special-purpose range (${range})` };
}

/**
 * IPv6 forms that carry an IPv4 address the packet may end up at: IPv4-mapped (::ffff:a.b.c.d),
 * IPv4-translated, IPv4-compatible (::a.b.c.d), NAT64 (64:ff9b::/96) and 6to4 (2002:AABB:CCDD::/48).
 */
function embeddedIPv4(ip: ipaddr.IPv6): { address: string; how: string } | null {
  const p = ip.parts;
  const v4 = (hi: number, lo: number) => `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  const at = (i: number) => p[i] ?? 0;
  if (ip.isIPv4MappedAddress()) return { address: ip.toIPv4Address().toString(), how: "IPv4-mapped" };
  const range = ip.range();
  if (range === "rfc6145") return { address: v4(at(6), at(7)), how: "IPv4-translated" };
  if (range === "rfc6052") return { address: v4(at(6), at(7)), how: "NAT64 of" };
  if (range === "6to4") return { address: v4(at(1), at(2)), how: "6to4 of" };
  // ::a.b.c.d (deprecated IPv4-compatible); :: and ::1 are left to the range check.
  if (p.slice(0, 6).every((x) => x === 0) && (at(6) !== 0 || at(7) > 1))
    return { address: v4(at(6), at(7)), how: "IPv4-compatible" };
  return null;
}
