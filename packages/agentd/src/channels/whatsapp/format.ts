/**
 * Markdown as models write it, turned into WhatsApp's own formatting (*bold*, _italic_, ~strike~,
 * `code`, ```blocks```). WhatsApp never refuses a message for its markup, so this only has to read
 * well: the common constructs are translated and code is left untouched; anything else stays as written.
 */
export function toWhatsAppText(md: string): string {
  const out: string[] = [];
  // Code blocks and inline code are kept verbatim (WhatsApp shows both as monospace).
  const pieces = md.split(/(```[\s\S]*?```|`[^`\n]+`)/);
  for (const [i, piece] of pieces.entries()) {
    if (i % 2 === 1) {
      out.push(piece.startsWith("```") ? piece.replace(/^```[A-Za-z0-9_+-]*\n/, "```\n") : piece);
      continue;
    }
    out.push(
      piece
        .replace(/^([ \t]*)[*+][ \t]+/gm, "$1- ") // bullets first: "* item" would read as bold
        .replace(/(?<![*\w])\*(?=[^\s*])([^*\n]+?)(?<=\S)\*(?![*\w])/g, "_$1_") // *italic*
        .replace(/\*\*(?=\S)([^*\n]+?)(?<=\S)\*\*/g, "*$1*")
        .replace(/__(?=\S)([^_\n]+?)(?<=\S)__/g, "*$1*")
        .replace(/~~(?=\S)([^~\n]+?)(?<=\S)~~/g, "~$1~")
        .replace(/^#{1,6}[ \t]+(.+?)[ \t]*#*$/gm, "*$1*") // headings: bold lines
        .replace(/!?\[([^\]\n]+)\]\(([^)\s]+)\)/g, (_m, text: string, url: string) =>
          text === url ? url : `${text} (${url})`,
        ),
    );
  }
  return out.join("");
}
