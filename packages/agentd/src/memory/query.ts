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

/** An FTS5 MATCH expression: `"a"* OR "b"`; words of three letters or more also match as prefixes (meeting ← meet). */
export function fts5Query(terms: readonly string[]): string {
  return terms.map((t) => `"${t}"${prefix(t) ? "*" : ""}`).join(" OR ");
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
