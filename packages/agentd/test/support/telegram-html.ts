// Telegram's HTML parse mode as the Bot API stand-in applies it.
const TAGS = new Set([
  "b",
  "strong",
  "i",
  "em",
  "u",
  "ins",
  "s",
  "strike",
  "del",
  "span",
  "tg-spoiler",
  "a",
  "code",
  "pre",
  "blockquote",
  "tg-emoji",
]);

/** Telegram's HTML parse mode, strictly enough to refuse what Telegram refuses: unknown or unbalanced tags, bare `<` and `&`. */
export function parseHtml(html: string): { text: string } | { error: string } {
  const stack: string[] = [];
  let text = "";
  for (let i = 0; i < html.length; ) {
    const ch = html[i] as string;
    if (ch === "<") {
      const m = /^<(\/?)([a-z-]+)((?:\s+[a-z-]+="[^"<>]*")*)\s*>/i.exec(html.slice(i));
      if (!m) return { error: `Unsupported start tag at byte offset ${i}` };
      const [all, close, name] = m as unknown as [string, string, string];
      const tag = name.toLowerCase();
      if (!TAGS.has(tag)) return { error: `Unsupported start tag "${tag}" at byte offset ${i}` };
      if (close) {
        if (stack.pop() !== tag)
          return {
            error: `Unmatched end tag at byte offset ${i}, expected "</${stack.at(-1) ?? ""}>", found "</${tag}>"`,
          };
      } else stack.push(tag);
      i += all.length;
    } else if (ch === "&") {
      const m = /^&(lt|gt|amp|quot|#\d+|#x[0-9a-f]+);/i.exec(html.slice(i));
      if (!m) return { error: `Character entity expected at byte offset ${i}` };
      text += m[1] === "lt" ? "<" : m[1] === "gt" ? ">" : m[1] === "amp" ? "&" : m[1] === "quot" ? '"' : "?";
      i += m[0].length;
    } else {
      text += ch;
      i++;
    }
  }
  if (stack.length > 0) return { error: `Can't find end tag corresponding to start tag "${stack.at(-1)}"` };
  return { text };
}
