import type { SearchResult } from "./types.ts";

const TITLE_CHARS = 200;
const SNIPPET_CHARS = 300;
const URL_CHARS = 2000;

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: " " };
// Each class stops at the next < or >, ; or &: one pass over the text, whatever it holds.
const TAG = /<\/?[a-zA-Z][^<>]*>/g;
const ENTITY = /&(#x[0-9a-fA-F]{1,6}|#\d{1,7}|[a-zA-Z]{2,6});/g;

/** Provider text (which may carry highlight tags and entities) as plain text on one line, at most `max` characters. */
export function plain(s: unknown, max: number): string {
  if (typeof s !== "string") return "";
  const text = s
    .slice(0, max * 4)
    .replace(TAG, "")
    .replace(ENTITY, (m, e: string) => {
      if (e[0] !== "#") return ENTITIES[e.toLowerCase()] ?? m;
      const code = e[1] === "x" ? Number.parseInt(e.slice(2), 16) : Number(e.slice(1));
      return code > 0 && code <= 0x10ffff && (code < 0xd800 || code > 0xdfff) ? String.fromCodePoint(code) : "";
    })
    .replace(/\s+/g, " ")
    .trim();
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** A result kept only when its URL is an http(s) URL; every field bounded. */
export function result(title: unknown, url: unknown, snippet: unknown, date?: unknown): SearchResult | null {
  if (typeof url !== "string" || url.length > URL_CHARS || !/^https?:\/\//i.test(url)) return null;
  const r: SearchResult = { title: plain(title, TITLE_CHARS) || url, url, snippet: plain(snippet, SNIPPET_CHARS) };
  const d = plain(date, 40);
  if (d) r.date = d;
  return r;
}

/** The first `count` usable entries of a provider's result array (entries that are not objects, or lack a URL, are skipped). */
export function pick(
  list: unknown,
  count: number,
  map: (r: Record<string, unknown>) => SearchResult | null,
): SearchResult[] {
  const out: SearchResult[] = [];
  if (!Array.isArray(list)) return out;
  for (const r of list) {
    if (out.length >= count) break;
    if (typeof r !== "object" || r === null) continue;
    const x = map(r as Record<string, unknown>);
    if (x) out.push(x);
  }
  return out;
}
