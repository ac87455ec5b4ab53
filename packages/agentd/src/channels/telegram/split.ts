/** Telegram's limit on a message's text, in UTF-16 code units (what JavaScript's `length` counts). */
export const TELEGRAM_MAX_TEXT = 4096;

/**
 * Splits text into parts of at most `limit` code units, cutting at the last paragraph break, else
 * line break, else space that leaves a part at least half full; a hard cut never halves a surrogate pair.
 */
export function splitMessage(text: string, limit = TELEGRAM_MAX_TEXT): string[] {
  const parts: string[] = [];
  let rest = text.trim();
  while (rest.length > limit) {
    const window = rest.slice(0, limit + 1);
    let cut = -1;
    for (const sep of ["\n\n", "\n", " "]) {
      const at = window.lastIndexOf(sep, limit);
      if (at >= limit / 2) {
        cut = at;
        break;
      }
    }
    if (cut < 0) {
      cut = limit;
      const code = rest.charCodeAt(cut - 1);
      if (code >= 0xd800 && code <= 0xdbff) cut--; // keep the pair together
    }
    const part = rest.slice(0, cut).trimEnd();
    if (part) parts.push(part);
    rest = rest.slice(cut).trimStart();
  }
  if (rest) parts.push(rest);
  return parts;
}
