/**
 * Wildcard matching for policy patterns (`*` = any run of characters, every other character
 * literal) in time linear in the pattern and the subject. Patterns come from tenants: a regular
 * expression built from one (`*a*a*a*…b` becomes `.*a.*a.*…b`) backtracks exponentially and
 * freezes the process for every tenant, so no regular expression is built here.
 *
 * Between the fixed first and last pieces, taking each middle piece at its leftmost place is
 * always right (a later place leaves less room for the rest), so one left-to-right pass with a
 * linear search (Knuth–Morris–Pratt) per piece decides.
 */
export function globMatch(pattern: string, subject: string): boolean {
  const pieces = pattern.split("*");
  if (pieces.length === 1) return pattern === subject;
  const head = pieces[0] as string;
  const tail = pieces[pieces.length - 1] as string;
  if (head.length + tail.length > subject.length || !subject.startsWith(head) || !subject.endsWith(tail)) return false;
  let at = head.length;
  const end = subject.length - tail.length;
  for (let i = 1; i < pieces.length - 1; i++) {
    const piece = pieces[i] as string;
    if (piece === "") continue;
    const found = indexWithin(subject, piece, at, end);
    if (found < 0) return false;
    at = found + piece.length;
  }
  return true;
}

/** The first place of `needle` in `hay[from, to)`, or -1; O(needle + to - from) whatever the text. */
function indexWithin(hay: string, needle: string, from: number, to: number): number {
  const fail = new Int32Array(needle.length);
  for (let i = 1, k = 0; i < needle.length; i++) {
    while (k > 0 && needle[i] !== needle[k]) k = fail[k - 1] as number;
    if (needle[i] === needle[k]) k++;
    fail[i] = k;
  }
  for (let i = from, k = 0; i < to; i++) {
    while (k > 0 && hay[i] !== needle[k]) k = fail[k - 1] as number;
    if (hay[i] === needle[k]) k++;
    if (k === needle.length) return i - k + 1;
  }
  return -1;
}
