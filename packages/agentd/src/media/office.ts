import { unzipSync } from "fflate";
import { MediaReadError } from "./errors.ts";
import { attribute, elements, inners, opensHere, stripTags, unescapeXml } from "./xml.ts";

/** The Office formats read here beside Word's .docx (mammoth): spreadsheets and slides, Microsoft's and OpenDocument's. */
export type OfficeKind = "xlsx" | "pptx" | "odt" | "ods" | "odp";

/**
 * The XML parts read from one file, together at most this many bytes once unpacked. A part's size is
 * the one its zip entry declares, and fflate never unpacks more than that: a zip bomb is refused
 * before it is inflated, and a lying header only truncates its own part.
 */
const MAX_UNPACKED = 64 * 1024 * 1024;
/** Columns of a spreadsheet row kept (a cell at XFD1 must not make 16,384 empty columns). */
const MAX_COLUMNS = 200;

/**
 * The text of a spreadsheet (.xlsx: each sheet's rows, cells tab-separated; .ods), a presentation
 * (.pptx: each slide's paragraphs; .odp) or an OpenDocument text (.odt), with the sheets or slides
 * bounded by `maxParts` (and a note saying how many were read). Throws MediaReadError("failed")
 * for a file that is not what it says.
 */
export function officeText(data: Uint8Array, kind: OfficeKind, maxParts: number): { text: string; cut?: string } {
  const files = unpack(data, kind);
  if (kind === "odt" || kind === "ods" || kind === "odp") {
    const content = files.get("content.xml");
    if (content === undefined) throw unreadable("OpenDocument file");
    if (kind !== "ods") return { text: odfText(content) };
    const tables = elements(content, "table:table");
    const read = tables
      .slice(0, maxParts)
      .map((t) => `--- sheet ${attribute(t.open, "table:name") ?? ""} ---\n${odsRows(t.inner)}`);
    return { text: read.join("\n\n"), ...cutNote("sheets", read.length, tables.length) };
  }
  if (kind === "pptx") {
    const slides = numbered(files, /^ppt\/slides\/slide(\d+)\.xml$/);
    if (!slides.length) throw unreadable("PowerPoint presentation");
    const read = slides.slice(0, maxParts).map((s, i) => `--- slide ${i + 1} ---\n${paragraphs(s, "a:p", "a:t")}`);
    return { text: read.join("\n\n"), ...cutNote("slides", read.length, slides.length) };
  }
  const shared = sharedStrings(files.get("xl/sharedStrings.xml") ?? "");
  const sheets = sheetsInOrder(files);
  if (!sheets.length) throw unreadable("Excel workbook");
  const read = sheets
    .slice(0, maxParts)
    .map(({ name, xml }) => `--- sheet ${name} ---\n${sheetRows(xml, shared).join("\n")}`);
  return { text: read.join("\n\n"), ...cutNote("sheets", read.length, sheets.length) };
}

const unreadable = (what: string) =>
  new MediaReadError("failed", `the ${what} could not be read (it is not a valid one)`);

function cutNote(what: string, read: number, of: number): { cut?: string } {
  return of > read ? { cut: `${what} 1-${read} of ${of} read` } : {};
}

/** The XML parts a kind needs, as text; only those are inflated, and only within MAX_UNPACKED. */
function unpack(data: Uint8Array, kind: OfficeKind): Map<string, string> {
  const wanted =
    kind === "odt" || kind === "ods" || kind === "odp"
      ? (n: string) => n === "content.xml"
      : kind === "pptx"
        ? (n: string) => /^ppt\/slides\/slide\d+\.xml$/.test(n)
        : (n: string) =>
            n === "xl/workbook.xml" ||
            n === "xl/_rels/workbook.xml.rels" ||
            n === "xl/sharedStrings.xml" ||
            /^xl\/worksheets\/[^/]+\.xml$/.test(n);
  let total = 0;
  let tooLarge = false;
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(data, {
      filter(f) {
        if (!wanted(f.name)) return false;
        total += f.originalSize;
        if (total > MAX_UNPACKED) tooLarge = true;
        return !tooLarge;
      },
    });
  } catch {
    throw new MediaReadError("failed", "the file could not be read (it is not a valid Office document)");
  }
  if (tooLarge)
    throw new MediaReadError(
      "failed",
      `the document is too large to read (over ${MAX_UNPACKED / 1024 / 1024} MB of text once unpacked)`,
    );
  const out = new Map<string, string>();
  const utf8 = new TextDecoder("utf-8");
  for (const [name, bytes] of Object.entries(entries)) out.set(name, utf8.decode(bytes));
  return out;
}

/** The parts whose names match `re`, in the order of the number in them (slide2 before slide10). */
function numbered(files: Map<string, string>, re: RegExp): string[] {
  return [...files.entries()]
    .flatMap(([name, xml]) => {
      const m = re.exec(name);
      return m ? [{ n: Number(m[1]), xml }] : [];
    })
    .sort((a, b) => a.n - b.n)
    .map((p) => p.xml);
}

/** The text runs (`textTag`) of each paragraph (`paraTag`), a line each. */
function paragraphs(xml: string, paraTag: string, textTag: string): string {
  return inners(xml, paraTag)
    .map((p) =>
      inners(p, textTag)
        .map((t) => unescapeXml(t))
        .join(""),
    )
    .filter((line) => line.trim())
    .join("\n");
}

/** OpenDocument's text: headings and paragraphs in order, their inner markup (spans, links) dropped. */
function odfText(xml: string): string {
  const lines: string[] = [];
  for (let at = xml.indexOf("<text:"); at !== -1; at = xml.indexOf("<text:", at + 1)) {
    const name = ["text:p", "text:h"].find((n) => xml.startsWith(`<${n}`, at) && opensHere(xml, at, n));
    if (!name) continue;
    const end = xml.indexOf(">", at);
    if (end === -1) break;
    if (xml[end - 1] === "/") {
      at = end;
      continue;
    }
    const stop = xml.indexOf(`</${name}>`, end);
    if (stop === -1) break;
    const inner = xml.slice(end + 1, stop);
    const line = unescapeXml(
      stripTags(
        inner.replaceAll("<text:tab/>", "\t").replaceAll("<text:line-break/>", "\n").replaceAll("<text:s/>", " "),
      ),
    );
    if (line.trim()) lines.push(line);
    at = stop;
  }
  return lines.join("\n");
}

/** An OpenDocument spreadsheet's rows, cells tab-separated (repeated empty cells count once). */
function odsRows(table: string): string {
  const rows: string[] = [];
  for (const row of inners(table, "table:table-row")) {
    const cells = elements(row, "table:table-cell").map((c) => odfText(c.inner).replace(/[\t\n]/g, " "));
    while (cells.length && !cells.at(-1)?.trim()) cells.pop();
    if (cells.length) rows.push(cells.join("\t"));
  }
  return rows.join("\n");
}

/** The shared strings of a workbook, by index: each `<si>`'s text runs joined. */
function sharedStrings(xml: string): string[] {
  return inners(xml, "si").map((si) =>
    inners(si, "t")
      .map((t) => unescapeXml(t))
      .join(""),
  );
}

/** The workbook's sheets in its own order, with their names (the relations map each to its part). */
function sheetsInOrder(files: Map<string, string>): { name: string; xml: string }[] {
  const workbook = files.get("xl/workbook.xml") ?? "";
  const rels = files.get("xl/_rels/workbook.xml.rels") ?? "";
  const targets = new Map<string, string>();
  for (const { open } of elements(rels, "Relationship")) {
    const id = attribute(open, "Id");
    const target = attribute(open, "Target");
    if (id && target) targets.set(id, target.replace(/^\/?(xl\/)?/, "xl/"));
  }
  const named: { name: string; xml: string }[] = [];
  for (const { open } of elements(workbook, "sheet")) {
    const target = targets.get(attribute(open, "r:id") ?? "");
    const xml = target ? files.get(target) : undefined;
    if (xml !== undefined) named.push({ name: attribute(open, "name") ?? target ?? "", xml });
  }
  if (named.length) return named;
  return numbered(files, /^xl\/worksheets\/sheet(\d+)\.xml$/).map((xml, i) => ({ name: String(i + 1), xml }));
}

/** A column's index from a cell reference (A1 → 0, AB7 → 27). */
function column(ref: string): number {
  let n = 0;
  for (const ch of ref) {
    const c = ch.charCodeAt(0);
    if (c < 65 || c > 90) break;
    n = n * 26 + (c - 64);
  }
  return n - 1;
}

/** A sheet's rows, cells tab-separated at their columns; empty rows left out. */
function sheetRows(xml: string, shared: string[]): string[] {
  const rows: string[] = [];
  for (const row of inners(xml, "row")) {
    const cells: string[] = [];
    for (const { open, inner } of elements(row, "c")) {
      const type = attribute(open, "t");
      const value = inners(inner, "v")[0];
      const text =
        type === "s"
          ? (shared[Number(value)] ?? "")
          : type === "inlineStr"
            ? inners(inner, "t")
                .map((t) => unescapeXml(t))
                .join("")
            : type === "b"
              ? value === "1"
                ? "TRUE"
                : "FALSE"
              : unescapeXml(value ?? "");
      const ref = attribute(open, "r");
      const at = ref ? column(ref) : cells.length;
      if (at >= MAX_COLUMNS || !text) continue;
      while (cells.length < at) cells.push("");
      cells[at] = text.replace(/[\t\n]/g, " ");
    }
    if (cells.some((c) => c.trim())) rows.push(cells.join("\t"));
  }
  return rows;
}
