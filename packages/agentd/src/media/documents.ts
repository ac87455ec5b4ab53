import { MediaReadError } from "./errors.ts";
import type { OfficeKind } from "./office.ts";

/** What a document holds as text, cut to the limits, with a note saying what was cut. */
export interface DocumentText {
  text: string;
  /** "pages 1-50 of 120 read", "cut at 60,000 characters": what the model did not get. */
  cut?: string;
}

export interface DocumentLimits {
  maxPages: number;
  maxChars: number;
}

const DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
/** Office formats by their type and by their name's extension (phones often say only application/octet-stream). */
const OFFICE: { kind: OfficeKind; mime: string; ext: string }[] = [
  { kind: "xlsx", mime: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ext: "xlsx" },
  { kind: "pptx", mime: "application/vnd.openxmlformats-officedocument.presentationml.presentation", ext: "pptx" },
  { kind: "odt", mime: "application/vnd.oasis.opendocument.text", ext: "odt" },
  { kind: "ods", mime: "application/vnd.oasis.opendocument.spreadsheet", ext: "ods" },
  { kind: "odp", mime: "application/vnd.oasis.opendocument.presentation", ext: "odp" },
];
const TEXT_MIMES = new Set([
  "application/json",
  "application/xml",
  "application/x-yaml",
  "application/yaml",
  "application/csv",
]);
const TEXT_EXTENSIONS = /\.(txt|md|markdown|csv|tsv|json|jsonl|xml|ya?ml|log|ini|toml)$/i;

/** Which reader takes a file, by its type (and its name when the type says only "bytes"); null: none. */
export function documentKind(mime: string, name?: string): "pdf" | "docx" | OfficeKind | "text" | null {
  const m = mime.toLowerCase().split(";")[0]?.trim() ?? "";
  const n = name ?? "";
  const bytes = m === "application/octet-stream" || m === "application/zip";
  if (m === "application/pdf" || (m === "application/octet-stream" && /\.pdf$/i.test(n))) return "pdf";
  if (m === DOCX || (bytes && /\.docx$/i.test(n))) return "docx";
  const office = OFFICE.find((o) => m === o.mime || (bytes && n.toLowerCase().endsWith(`.${o.ext}`)));
  if (office) return office.kind;
  if (m.startsWith("text/") || TEXT_MIMES.has(m) || m.endsWith("+json")) return "text";
  if (m === "application/octet-stream" && TEXT_EXTENSIONS.test(n)) return "text";
  return null;
}

/**
 * The text of a PDF (unpdf: PDF.js), a Word document (mammoth), a spreadsheet or a presentation
 * (.xlsx, .pptx, OpenDocument's .odt/.ods/.odp: office.ts, unzipped by fflate) or a text file (UTF-8:
 * plain, Markdown, CSV, JSON, …), bounded in pages (sheets, slides) and characters. Null for a kind it does not read.
 * Throws MediaReadError("failed") for a file it cannot read (broken, encrypted, binary).
 */
export async function readDocument(
  data: Uint8Array,
  mime: string,
  name: string | undefined,
  limits: DocumentLimits,
): Promise<DocumentText | null> {
  const kind = documentKind(mime, name);
  if (!kind) return null;
  const read =
    kind === "pdf"
      ? await pdfText(data, limits.maxPages)
      : kind === "docx" || kind === "text"
        ? { text: kind === "docx" ? await docxText(data) : plainText(data) }
        : // Loaded on the first office file, not with agentd: fflate builds its tables as it loads.
          (await import("./office.ts")).officeText(data, kind, limits.maxPages);
  const text = read.text
    .replace(/\r\n?/g, "\n")
    .replace(/\n{3,}/g, "\n\n")
    .trim();
  const cuts = "cut" in read && read.cut ? [read.cut] : [];
  if (text.length > limits.maxChars)
    cuts.push(`cut at ${limits.maxChars.toLocaleString("en")} of ${text.length.toLocaleString("en")} characters`);
  const out = text.slice(0, limits.maxChars);
  return { text: out, ...(cuts.length ? { cut: cuts.join("; ") } : {}) };
}

function plainText(data: Uint8Array): string {
  // A NUL in the first kilobytes: bytes, not text, whatever the name says.
  if (data.subarray(0, 8192).includes(0))
    throw new MediaReadError("failed", "the file is not text (it holds binary bytes)");
  return new TextDecoder("utf-8").decode(data).replace(/^\uFEFF/, "");
}

async function pdfText(data: Uint8Array, maxPages: number): Promise<{ text: string; cut?: string }> {
  // Loaded on the first PDF, not with agentd: PDF.js is large.
  const { getDocumentProxy } = await import("unpdf");
  let pdf: Awaited<ReturnType<typeof getDocumentProxy>>;
  try {
    // PDF.js takes the buffer over: it gets a copy, the caller's bytes stay whole.
    pdf = await getDocumentProxy(new Uint8Array(data));
  } catch (e) {
    const why =
      e instanceof Error && /password/i.test(e.message)
        ? "it is encrypted with a password"
        : "it is not a readable PDF";
    throw new MediaReadError("failed", `the PDF could not be read: ${why}`);
  }
  try {
    const pages = Math.min(pdf.numPages, maxPages);
    const texts: string[] = [];
    for (let i = 1; i <= pages; i++) {
      const page = await pdf.getPage(i);
      const content = await page.getTextContent();
      const line = content.items.map((it) => ("str" in it ? it.str + (it.hasEOL ? "\n" : "") : "")).join("");
      texts.push(`--- page ${i} ---\n${line.trim()}`);
      page.cleanup();
    }
    return {
      text: texts.join("\n\n"),
      ...(pdf.numPages > pages ? { cut: `pages 1-${pages} of ${pdf.numPages} read` } : {}),
    };
  } finally {
    await pdf.loadingTask.destroy();
  }
}

async function docxText(data: Uint8Array): Promise<string> {
  const mammoth = (await import("mammoth")).default;
  try {
    return (await mammoth.extractRawText({ buffer: Buffer.from(data.buffer, data.byteOffset, data.byteLength) })).value;
  } catch {
    throw new MediaReadError("failed", "the Word document could not be read (it is not a valid .docx)");
  }
}
