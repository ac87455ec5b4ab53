/**
 * Splits text into parts of at most `limit` UTF-16 units, at the safest boundary available in the
 * last part of each window: a blank line, a line end, a sentence end, a space; a hard cut (never
 * inside a surrogate pair) only when a window has none of them.
 */
export function splitText(text: string, limit: number): string[] {
  if (limit < 2) throw new RangeError("limit must be at least 2");
  const parts: string[] = [];
  let rest = text.trim();
  while (rest.length > limit) {
    const window = rest.slice(0, limit + 1);
    const floor = Math.floor(limit / 2);
    let cut = -1;
    for (const sep of ["\n\n", "\n", ". ", "! ", "? ", " "]) {
      const at = window.lastIndexOf(sep);
      if (at >= floor) {
        cut = sep.length > 1 && sep !== "\n\n" ? at + 1 : at;
        break;
      }
    }
    if (cut <= 0) {
      cut = limit;
      const c = rest.charCodeAt(cut - 1);
      if (c >= 0xd800 && c <= 0xdbff) cut--; // keep a surrogate pair whole
    }
    const part = rest.slice(0, cut).trimEnd();
    if (part) parts.push(part);
    rest = rest.slice(cut).trimStart();
  }
  if (rest) parts.push(rest);
  return parts;
}
