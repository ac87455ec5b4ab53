import { crc32, deflateRawSync } from "node:zlib";
import { strToU8, zipSync } from "fflate";
import { PDFDocument, StandardFonts } from "pdf-lib";

/** A PDF with one page per entry of `pages`, each its lines of text (pdf-lib: a real PDF, as a phone would send). */
export async function makePdf(pages: string[][]): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  const font = await doc.embedFont(StandardFonts.Helvetica);
  for (const lines of pages) {
    const page = doc.addPage([595, 842]);
    for (const [i, line] of lines.entries()) page.drawText(line, { x: 50, y: 780 - i * 18, size: 12, font });
  }
  return doc.save();
}

/** A minimal Word document (.docx: a zip of the parts Word needs, stored) with these paragraphs. */
export function makeDocx(paragraphs: string[]): Uint8Array {
  const esc = (s: string) => s.replaceAll("&", "&amp;").replaceAll("<", "&lt;");
  const files: [string, string][] = [
    [
      "[Content_Types].xml",
      `<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>`,
    ],
    [
      "_rels/.rels",
      `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>`,
    ],
    [
      "word/document.xml",
      `<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>${paragraphs
        .map((p) => `<w:p><w:r><w:t>${esc(p)}</w:t></w:r></w:p>`)
        .join("")}</w:body></w:document>`,
    ],
  ];
  return storedZip(files.map(([name, text]) => [name, Buffer.from(text, "utf8")]));
}

function storedZip(files: [string, Buffer][]): Uint8Array {
  return zipOf(files.map(([name, data]) => ({ name, data, size: data.length, crc: crc32(data), method: 0 })));
}

/** A zip of entries as given: `data` already compressed by `method` (0 stored, 8 deflated), `size` and `crc` of the original. */
function zipOf(files: { name: string; data: Buffer; size: number; crc: number; method: number }[]): Uint8Array {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const { name, data, size, crc, method } of files) {
    const n = Buffer.from(name, "utf8");
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(n.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(method, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(size, 24);
    central.writeUInt16LE(n.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, n, data);
    centrals.push(central, n);
    offset += 30 + n.length + data.length;
  }
  const dir = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(dir.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, dir, end]);
}

const XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>';
const escXml = (s: string) => s.replaceAll("&", "&amp;").replaceAll("<", "&lt;");
const deflated = (files: Record<string, string>) =>
  zipSync(Object.fromEntries(Object.entries(files).map(([name, text]) => [name, strToU8(text)])));

/** An Excel workbook (.xlsx, deflated as Excel writes it): sheets of rows, strings shared, numbers inline. */
export function makeXlsx(sheets: { name: string; rows: (string | number)[][] }[]): Uint8Array {
  const strings: string[] = [];
  const index = (s: string) => (strings.includes(s) ? strings.indexOf(s) : strings.push(s) - 1);
  const col = (i: number) => String.fromCharCode(65 + i);
  const files: Record<string, string> = {
    "[Content_Types].xml": `${XML}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>`,
    "xl/workbook.xml": `${XML}<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>${sheets
      .map((s, i) => `<sheet name="${escXml(s.name)}" sheetId="${i + 1}" r:id="rId${i + 1}"/>`)
      .join("")}</sheets></workbook>`,
    "xl/_rels/workbook.xml.rels": `${XML}<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">${sheets
      .map(
        (_, i) =>
          `<Relationship Id="rId${i + 1}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet${i + 1}.xml"/>`,
      )
      .join("")}</Relationships>`,
  };
  sheets.forEach((s, i) => {
    const rows = s.rows
      .map(
        (r, y) =>
          `<row r="${y + 1}">${r
            .map((v, x) =>
              v === ""
                ? ""
                : typeof v === "number"
                  ? `<c r="${col(x)}${y + 1}"><v>${v}</v></c>`
                  : `<c r="${col(x)}${y + 1}" t="s"><v>${index(v)}</v></c>`,
            )
            .join("")}</row>`,
      )
      .join("");
    files[`xl/worksheets/sheet${i + 1}.xml`] =
      `${XML}<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>${rows}</sheetData></worksheet>`;
  });
  files["xl/sharedStrings.xml"] =
    `${XML}<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">${strings.map((s) => `<si><t>${escXml(s)}</t></si>`).join("")}</sst>`;
  return deflated(files);
}

/** A PowerPoint presentation (.pptx): slides of paragraphs, each paragraph its runs. */
export function makePptx(slides: string[][]): Uint8Array {
  const files: Record<string, string> = {
    "[Content_Types].xml": `${XML}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>`,
  };
  slides.forEach((paras, i) => {
    files[`ppt/slides/slide${i + 1}.xml`] =
      `${XML}<p:sld xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main"><p:cSld><p:spTree><p:sp><p:txBody><a:bodyPr/>${paras
        .map((p) => {
          const [head, ...rest] = p.split(" ");
          return `<a:p><a:pPr lvl="0"/><a:r><a:rPr lang="en-US"/><a:t>${escXml(head ?? "")}</a:t></a:r><a:r><a:t>${escXml(rest.length ? ` ${rest.join(" ")}` : "")}</a:t></a:r></a:p>`;
        })
        .join("")}</p:txBody></p:sp></p:spTree></p:cSld></p:sld>`;
  });
  return deflated(files);
}

/** An OpenDocument file: text (.odt, paragraphs) or a spreadsheet (.ods, one table of rows). */
export function makeOdf(kind: "odt" | "ods", content: string[] | string[][]): Uint8Array {
  const body =
    kind === "odt"
      ? `<office:text>${(content as string[]).map((p, i) => (i === 0 ? `<text:h text:outline-level="1">${escXml(p)}</text:h>` : `<text:p text:style-name="P1">${escXml(p).replace(" ", '<text:span text:style-name="T1"> </text:span>')}</text:p>`)).join("")}</office:text>`
      : `<office:spreadsheet><table:table table:name="Budget">${(content as string[][])
          .map(
            (r) =>
              `<table:table-row>${r.map((c) => (c ? `<table:table-cell office:value-type="string"><text:p>${escXml(c)}</text:p></table:table-cell>` : "<table:table-cell/>")).join("")}<table:table-cell table:number-columns-repeated="1000"/></table:table-row>`,
          )
          .join("")}</table:table></office:spreadsheet>`;
  return deflated({
    mimetype: `application/vnd.oasis.opendocument.${kind === "odt" ? "text" : "spreadsheet"}`,
    "content.xml": `${XML}<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"><office:body>${body}</office:body></office:document-content>`,
  });
}

/** A zip of `name` holding `bytes` zero bytes, deflated (a zip bomb in small). */
export function zeroZip(name: string, bytes: number): Uint8Array {
  const zeros = Buffer.alloc(bytes);
  return zipOf([{ name, data: deflateRawSync(zeros, { level: 1 }), size: bytes, crc: crc32(zeros), method: 8 }]);
}
