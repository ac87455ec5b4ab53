/** Scheme, host and port in normal form (punycode, lower case, no default port): what an "Always" answer names. */
export function originOf(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}`;
}

/** A "*" in a host would be a wildcard in the policy pattern an "Always" answer writes: such URLs are refused. */
export function plainHost(url: string): boolean {
  try {
    return !new URL(url).host.includes("*");
  } catch {
    return true; // the URL check reports it
  }
}
