/**
 * Just enough XML for the text of Office documents, in linear time over hostile input: every scan
 * moves forward with indexOf, and no regular expression has a quantifier that can run to the end of
 * the input once per candidate (a file of ten thousand unclosed `<c` must not take minutes).
 */

/** One element: its opening tag (from `<` to `>`) and its inner XML (empty when self-closed). */
export interface Element {
  open: string;
  inner: string;
}

/** Whether `<name` at `at` opens that element (not one whose name merely starts so: `<c` vs `<col`). */
export function opensHere(xml: string, at: number, name: string): boolean {
  const next = xml[at + 1 + name.length];
  return next === ">" || next === "/" || next === " " || next === "\n" || next === "\t" || next === "\r";
}

/** The elements named `name` in `xml`, in order, not nested in themselves. */
export function elements(xml: string, name: string): Element[] {
  const out: Element[] = [];
  const open = `<${name}`;
  const close = `</${name}>`;
  for (let at = xml.indexOf(open); at !== -1; at = xml.indexOf(open, at + 1)) {
    if (!opensHere(xml, at, name)) continue;
    const end = xml.indexOf(">", at);
    if (end === -1) break;
    const tag = xml.slice(at, end + 1);
    if (xml[end - 1] === "/") {
      out.push({ open: tag, inner: "" });
      at = end;
      continue;
    }
    const stop = xml.indexOf(close, end);
    if (stop === -1) break;
    out.push({ open: tag, inner: xml.slice(end + 1, stop) });
    at = stop;
  }
  return out;
}

/** The inner XML of each element named `name`. */
export const inners = (xml: string, name: string): string[] => elements(xml, name).map((e) => e.inner);

/** An attribute's value in an opening tag, unescaped; undefined when it has none. */
export function attribute(tag: string, name: string): string | undefined {
  const key = `${name}="`;
  for (let at = tag.indexOf(key); at !== -1; at = tag.indexOf(key, at + 1)) {
    const before = tag[at - 1];
    if (before !== " " && before !== "\n" && before !== "\t" && before !== "\r") continue;
    const end = tag.indexOf('"', at + key.length);
    return end === -1 ? undefined : unescapeXml(tag.slice(at + key.length, end));
  }
  return undefined;
}

/** Markup dropped, character data kept (`a <b>bold</b> word` → `a bold word`). */
export function stripTags(xml: string): string {
  let out = "";
  for (let at = 0; at < xml.length; ) {
    const lt = xml.indexOf("<", at);
    if (lt === -1) {
      out += xml.slice(at);
      break;
    }
    out += xml.slice(at, lt);
    const gt = xml.indexOf(">", lt);
    if (gt === -1) break;
    at = gt + 1;
  }
  return out;
}

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

/** XML character data as text: the five named entities and numeric references. */
export function unescapeXml(s: string): string {
  return s.replace(/&(#x[0-9a-f]{1,6}|#[0-9]{1,7}|[a-z]{2,4});/gi, (whole, e: string) => {
    if (e[0] !== "#") return ENTITIES[e] ?? whole;
    const code = e[1] === "x" || e[1] === "X" ? Number.parseInt(e.slice(2), 16) : Number(e.slice(1));
    return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
  });
}
