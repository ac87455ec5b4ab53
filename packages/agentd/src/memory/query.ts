/**
 * User text never reaches a full-text engine as syntax: it is cut into words (letters, digits and
 * combining marks, the same split SQLite's unicode61 and Postgres' default parser make), and the
 * words are OR-ed as quoted terms. `"foo" OR (bar` is just the words foo, or, bar.
 */
const MAX_TERMS = 32;

/** The distinct lower-cased words of a query, at most 32. */
export function queryTerms(query: string): string[] {
  const words = query.toLowerCase().match(/[\p{L}\p{N}\p{M}]+/gu) ?? [];
  return [...new Set(words)].slice(0, MAX_TERMS);
}

/**
 * SQLite's full-text index is one table for all tenants, so each word is indexed with its tenant's
 * tag in front (`<hex of the tenant id>meeting`): a query, prefix queries included, reads only its
 * tenant's part of the index, and a word's document frequency (what ranking weighs) is counted per
 * tenant. The tag is hex, so the tokenizer keeps tag and word one token.
 */
export function ftsTag(tenantId: string): string {
  return Buffer.from(tenantId, "utf8").toString("hex");
}

/** What the index holds for one entry: its words, each tagged with the tenant's tag. */
export function ftsText(tenantId: string, content: string): string {
  const tag = ftsTag(tenantId);
  return (content.toLowerCase().match(/[\p{L}\p{N}\p{M}]+/gu) ?? []).map((w) => tag + w).join(" ");
}

/** An FTS5 MATCH expression in a tenant's part of the index: `"<tag>a"* OR "<tag>b"`; words of three letters or more also match as prefixes (meeting ← meet). */
export function fts5Query(tenantId: string, terms: readonly string[]): string {
  const tag = ftsTag(tenantId);
  return terms.map((t) => `"${tag}${t}"${prefix(t) ? "*" : ""}`).join(" OR ");
}

/** A Postgres to_tsquery text: `'a':* | 'b'`. */
export function tsQuery(terms: readonly string[]): string {
  return terms.map((t) => `'${t}'${prefix(t) ? ":*" : ""}`).join(" | ");
}

const prefix = (t: string) => [...t].length >= 3;

/** Cosine similarity; 0 when the vectors cannot be compared (different models, empty, zero). */
export function cosine(a: readonly number[], b: readonly number[]): number {
  if (a.length === 0 || a.length !== b.length) return 0;
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return na && nb ? dot / Math.sqrt(na * nb) : 0;
}
