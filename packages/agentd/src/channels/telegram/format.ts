import { splitMessage, TELEGRAM_MAX_TEXT } from "./split.ts";

/**
 * Models write Markdown; Telegram's HTML parse mode is the one whose escaping is simple and total
 * (only `<`, `>` and `&`). Every tag emitted here comes from a matched pair, so the output is always
 * balanced; `isBalanced` checks it once more, and a sender still falls back to plain text when
 * Telegram refuses the markup.
 */
export function toTelegramHtml(markdown: string): string {
  const blocks: string[] = [];
  const keep = (html: string) => `\u0000${blocks.push(html) - 1}\u0000`;
  let s = markdown.replace(/```([\w+-]*)[^\S\n]*\n?([\s\S]*?)(?:```|$)/g, (_, lang: string, code: string) => {
    const body = escapeHtml(code.replace(/\n$/, ""));
    return keep(lang ? `<pre><code class="language-${lang}">${body}</code></pre>` : `<pre>${body}</pre>`);
  });
  s = s.replace(/`([^`\n]+)`/g, (_, code: string) => keep(`<code>${escapeHtml(code)}</code>`));
  s = escapeHtml(s);
  // Links before emphasis, so underscores in a URL are not read as italics.
  s = s.replace(/\[([^\]\n<>]+)\]\(((?:https?|tg):\/\/[^\s)<>"]+)\)/g, (_, text: string, url: string) =>
    keep(`<a href="${url.replaceAll('"', "&quot;")}">${text}</a>`),
  );
  s = s.replace(/^#{1,6}[^\S\n]+(.+?)[^\S\n]*#*$/gm, "<b>$1</b>");
  s = s.replace(/^[^\S\n]*[-*+][^\S\n]+/gm, "• ");
  s = s.replace(/\*\*(?=\S)([^<>\n]*?\S)\*\*/g, "<b>$1</b>");
  s = s.replace(/(^|[^\w])__(?=\S)([^<>\n]*?\S)__(?!\w)/g, "$1<b>$2</b>");
  s = s.replace(/~~(?=\S)([^<>\n]*?\S)~~/g, "<s>$1</s>");
  s = s.replace(/(^|[^\w*])\*(?=[^\s*])([^<>*\n]*?[^\s*])\*(?![\w*])/g, "$1<i>$2</i>");
  s = s.replace(/(^|[^\w])_(?=[^\s_])([^<>_\n]*?[^\s_])_(?!\w)/g, "$1<i>$2</i>");
  s = s.replace(/(?:^&gt;[^\S\n]?.*(?:\n|$))+/gm, (quote) => {
    const body = quote
      .replace(/\n$/, "")
      .split("\n")
      .map((l) => l.replace(/^&gt;[^\S\n]?/, ""))
      .join("\n");
    return `<blockquote>${body}</blockquote>${quote.endsWith("\n") ? "\n" : ""}`;
  });
  // biome-ignore lint/suspicious/noControlCharactersInRegex: NUL marks the blocks set aside above; no text a person sends reaches here with one
  return s.replace(/\u0000(\d+)\u0000/g, (_, i: string) => blocks[Number(i)] as string);
}

export function escapeHtml(s: string): string {
  return s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

/** True when every tag is closed in order (what Telegram requires of HTML). */
export function isBalanced(html: string): boolean {
  const stack: string[] = [];
  for (const m of html.matchAll(/<(\/?)([a-z-]+)[^>]*>/g)) {
    if (!m[1]) stack.push(m[2] as string);
    else if (stack.pop() !== m[2]) return false;
  }
  return stack.length === 0;
}

/** One message to send: the HTML form, and the plain text to fall back to if Telegram refuses it. */
export interface FormattedPart {
  html: string | null;
  plain: string;
}

/**
 * Splits a reply at safe boundaries under Telegram's limit (counted on the source, which is never
 * shorter than what Telegram counts after parsing), closing and reopening a code fence cut in two.
 */
export function formatReply(markdown: string, limit = TELEGRAM_MAX_TEXT): FormattedPart[] {
  const parts = splitMessage(markdown, limit - 8);
  for (let i = 0; i < parts.length - 1; i++) {
    if (((parts[i] as string).match(/```/g) ?? []).length % 2 === 1) {
      parts[i] = `${parts[i]}\n\`\`\``;
      parts[i + 1] = `\`\`\`\n${parts[i + 1]}`;
    }
  }
  return parts.map((plain) => {
    const html = toTelegramHtml(plain);
    return { html: isBalanced(html) ? html : null, plain };
  });
}

/** Telegram's answer to markup it can't parse: send the same text again without parse mode. */
export const isParseError = (e: unknown): boolean =>
  /can't parse entities|unsupported start tag|can't find end tag/i.test(String((e as Error)?.message ?? e));
