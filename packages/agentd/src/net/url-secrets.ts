// A model or service URL may carry credentials (`https://user:key@host/v1`, `?api-key=…`): these keep
// them out of everything shown to people, written to logs or stored.

/** A URL as it may be shown: scheme, host, port and path; never `user:password@`, a query or a fragment. */
export function showUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname === "/" ? "" : u.pathname}`;
  } catch {
    return "(an unparsable URL)";
  }
}

// Linear: each class is a single run of characters that cannot overlap the next token.
const USERINFO = /\b([a-z][a-z0-9+.-]{0,20}:\/\/)[^\s/@?#]*@/gi;
const QUERY = /(\b[a-z][a-z0-9+.-]{0,20}:\/\/[^\s?#]*)[?#][^\s"'<>]*/gi;

/**
 * `text` with the credentials of every URL in it removed (user info, query strings), and each
 * `secret` (e.g. the configured base URL as written) replaced by its shown form. Used on error
 * messages from HTTP clients, which quote the URL they failed on.
 */
export function scrubUrls(text: string, ...urls: (string | undefined)[]): string {
  let out = text;
  for (const url of urls) {
    if (!url) continue;
    out = out.split(url).join(showUrl(url));
    for (const part of secretParts(url)) out = out.split(part).join("…");
  }
  return out.replace(USERINFO, "$1").replace(QUERY, "$1");
}

/** The password and query values of a URL, raw and decoded: a client may quote them on their own. */
function secretParts(url: string): string[] {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return [];
  }
  const raw = u.search
    .slice(1)
    .split("&")
    .map((kv) => kv.slice(kv.indexOf("=") + 1));
  const parts = [u.password, ...raw, ...u.searchParams.values()];
  const decoded = parts.map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  });
  // Short values ("1", "true") would blank out ordinary words of the message.
  return [...new Set([...parts, ...decoded])].filter((p) => p.length >= 6);
}
