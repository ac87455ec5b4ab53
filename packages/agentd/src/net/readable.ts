import { createRequire } from "node:module";

// Loaded on the first HTML page, not with agentd: a DOM is some 200 modules, which every cold start
// of a function would pay for (serverless/) though most requests never read a page.
const load = createRequire(import.meta.url);
const html = () => load("linkedom") as typeof import("linkedom");
const readability = () => (load("@mozilla/readability") as typeof import("@mozilla/readability")).Readability;

/** What a page says, as text a model can read. */
export interface ReadableText {
  title: string;
  text: string;
  /** How the body was treated: an article or page extracted from HTML, text passed through, or a note about other content. */
  kind: "article" | "page" | "text" | "other";
}

/** The little of a DOM node the text walk needs (linkedom's nodes; the DOM lib is not loaded here). */
export interface DomNode {
  nodeType: number;
  tagName?: string;
  textContent: string | null;
  childNodes: ArrayLike<DomNode>;
}

/** Elements that end a line, and those that also leave a blank line after them. */
const LINE = new Set(
  "br dd div dt figcaption li tr td th form header footer nav main aside section article address".split(" "),
);
const PARA = new Set("p h1 h2 h3 h4 h5 h6 blockquote pre ul ol dl table figure hr".split(" "));
const SKIP = new Set(["script", "style", "noscript", "template", "svg", "iframe", "object", "head", "canvas"]);

/**
 * Turns a response body into readable text: HTML through Readability (the page's body, minus
 * scripts and styles, when Readability finds no article); text, JSON and XML as they are; anything
 * else a one-line note, since bytes of an image or a PDF are noise to a model.
 */
export function readableText(body: Uint8Array, contentType: string | undefined): ReadableText {
  const type = (contentType ?? "").split(";")[0]?.trim().toLowerCase() || sniff(body);
  if (type === "text/html" || type === "application/xhtml+xml") return fromHtml(decode(body, contentType, true));
  if (type.startsWith("text/") || /[/+](json|xml|javascript|yaml|x-ndjson)$/.test(type))
    return { title: "", text: decode(body, contentType, false), kind: "text" };
  return {
    title: "",
    text: `(${type || "unknown content type"}, ${body.byteLength} bytes: not text, not shown)`,
    kind: "other",
  };
}

function fromHtml(page: string): ReadableText {
  const { parseHTML } = html();
  const Readability = readability();
  const { document } = parseHTML(page);
  const pageTitle = clean(document.querySelector("title")?.textContent ?? "");
  try {
    // Readability rewrites the tree it reads: give it its own copy so the fallback sees the page intact.
    const article = new Readability(parseHTML(page).document as never).parse();
    if (article?.content) {
      const text = toText(parseHTML(`<html><body>${article.content}</body></html>`).document.body as DomNode);
      if (text) return { title: clean(article.title ?? "") || pageTitle, text, kind: "article" };
    }
  } catch {
    // A page Readability cannot handle still has text worth reading: fall through.
  }
  return { title: pageTitle, text: toText((document.body ?? document.documentElement) as DomNode), kind: "page" };
}

/** Text of a DOM tree with line breaks at block boundaries (textContent would run paragraphs together). */
export function toText(root: DomNode): string {
  const out: string[] = [];
  // Breaks are marked while walking and settled at the end, so nested blocks give one break, not a pile.
  const walk = (n: DomNode) => {
    if (n.nodeType === 3) {
      out.push((n.textContent ?? "").replace(/\s+/g, " "));
      return;
    }
    if (n.nodeType !== 1) return;
    const tag = (n.tagName ?? "").toLowerCase();
    if (SKIP.has(tag)) return;
    const mark = PARA.has(tag) ? "\u0002" : LINE.has(tag) ? "\u0001" : "";
    out.push(mark, tag === "li" ? "- " : "");
    for (const c of Array.from(n.childNodes)) walk(c);
    out.push(mark);
  };
  walk(root);
  return (
    out
      .join("")
      // biome-ignore lint/suspicious/noControlCharactersInRegex: \u0001 and \u0002 are the line and paragraph marks put in above (control characters of the page were removed first)
      .replace(/[ \u0001\u0002]*[\u0001\u0002][ \u0001\u0002]*/g, (run) => (run.includes("\u0002") ? "\n\n" : "\n"))
      .split("\n")
      .map((l) => l.replace(/ {2,}/g, " ").trim())
      .join("\n")
      .trim()
  );
}

const clean = (s: string) => s.replace(/\s+/g, " ").trim();

/** The charset from the Content-Type, else (for HTML) a <meta> in the first bytes, else UTF-8. */
function decode(body: Uint8Array, contentType: string | undefined, html: boolean): string {
  let charset = /charset\s*=\s*"?([\w.:-]+)/i.exec(contentType ?? "")?.[1];
  if (!charset && html) {
    const head = new TextDecoder("latin1").decode(body.subarray(0, 2048));
    charset = /<meta[^>]+charset\s*=\s*["']?([\w.:-]+)/i.exec(head)?.[1];
  }
  try {
    return new TextDecoder(charset ?? "utf-8").decode(body);
  } catch {
    return new TextDecoder("utf-8").decode(body); // an unknown label: UTF-8 is the likeliest truth
  }
}

/** A guess for responses without a Content-Type: markup, text, or bytes. */
function sniff(body: Uint8Array): string {
  const head = new TextDecoder("utf-8").decode(body.subarray(0, 512));
  if (/^\s*(<!doctype html|<html|<head|<body)/i.test(head)) return "text/html";
  if (/^\s*[[{]/.test(head)) return "application/json";
  return head.includes("\uFFFD") || head.includes("\u0000") ? "application/octet-stream" : "text/plain";
}
