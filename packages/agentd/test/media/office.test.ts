import assert from "node:assert/strict";
import { test } from "node:test";
import { strToU8, zipSync } from "fflate";
import { documentKind, readDocument } from "../../src/media/documents.ts";
import { makeOdf, makePptx, makeXlsx, zeroZip } from "./files.ts";

const LIMITS = { maxPages: 50, maxChars: 60_000 };
const XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
const PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation";

test("spreadsheets, presentations and OpenDocument files are read as text; sheets and slides bounded with a note", async () => {
  const xlsx = makeXlsx([
    {
      name: "Budget & plan",
      rows: [
        ["Item", "Cost"],
        ["Rent", 950],
        ["", ""],
        ["Food <weekly>", 120],
      ],
    },
    { name: "Notes", rows: [["", "", "Pay by the 3rd"]] },
  ]);
  const book = await readDocument(xlsx, XLSX, "budget.xlsx", LIMITS);
  assert.equal(
    book!.text,
    "--- sheet Budget & plan ---\nItem\tCost\nRent\t950\nFood <weekly>\t120\n\n--- sheet Notes ---\n\t\tPay by the 3rd",
  );
  assert.equal(book!.cut, undefined);
  const first = await readDocument(xlsx, "application/octet-stream", "budget.xlsx", { ...LIMITS, maxPages: 1 });
  assert.doesNotMatch(first!.text, /Pay by/);
  assert.equal(first!.cut, "sheets 1-1 of 2 read");

  const deck = makePptx([["Quarterly review", "Revenue up 12%"], ["Next steps"], ["Questions?"]]);
  const slides = await readDocument(deck, "application/octet-stream", "deck.pptx", { ...LIMITS, maxPages: 2 });
  assert.equal(slides!.text, "--- slide 1 ---\nQuarterly review\nRevenue up 12%\n\n--- slide 2 ---\nNext steps");
  assert.equal(slides!.cut, "slides 1-2 of 3 read");
  assert.equal(documentKind(PPTX), "pptx");

  const odt = await readDocument(
    makeOdf("odt", ["Minutes", "Ship the office reader", "Rent & food"]),
    "application/vnd.oasis.opendocument.text",
    "minutes.odt",
    LIMITS,
  );
  assert.equal(odt!.text, "Minutes\nShip the office reader\nRent & food");
  const ods = await readDocument(
    makeOdf("ods", [
      ["Item", "Cost"],
      ["Rent", "950"],
    ]),
    "application/octet-stream",
    "budget.ods",
    LIMITS,
  );
  assert.equal(ods!.text, "--- sheet Budget ---\nItem\tCost\nRent\t950");
  // Legacy binary Office files are not read (a one-line note reaches the model instead).
  assert.equal(documentKind("application/vnd.ms-excel", "old.xls"), null);
});

test("a broken file, a zip bomb and hostile XML are refused or read in linear time", async () => {
  await assert.rejects(readDocument(Buffer.from("PK\x03\x04 not a zip"), XLSX, "x.xlsx", LIMITS), /not a valid Office/);
  await assert.rejects(readDocument(zipSync({ "a.txt": strToU8("hi") }), PPTX, "x.pptx", LIMITS), /not a valid one/);
  // 70 MB of zeros in a few hundred KB: refused by the sizes the zip declares, before anything is inflated.
  const bomb = zeroZip("xl/worksheets/sheet1.xml", 70 * 1024 * 1024);
  assert.ok(bomb.byteLength < 1_000_000, `${bomb.byteLength} bytes`);
  await assert.rejects(readDocument(bomb, XLSX, "bomb.xlsx", LIMITS), /too large to read/);

  // Tens of thousands of unclosed elements and attributes: each scan moves forward, so this takes milliseconds.
  const n = 60_000;
  const hostile = zipSync({
    "xl/workbook.xml": strToU8(`<workbook><sheets>${'<sheet name="a r:id="'.repeat(n)}</sheets></workbook>`),
    "xl/worksheets/sheet1.xml": strToU8(`<sheetData><row>${'<c r="A1 t="'.repeat(n)}<row>${"<v>".repeat(n)}`),
    "xl/sharedStrings.xml": strToU8(`<sst>${"<si><t>".repeat(n)}`),
  });
  const started = performance.now();
  const read = await readDocument(hostile, XLSX, "hostile.xlsx", LIMITS);
  const ms = performance.now() - started;
  assert.ok(read, "read, whatever it holds");
  assert.ok(ms < 5_000, `${Math.round(ms)} ms for ${n} unclosed elements (quadratic would take minutes)`);
  const odt = strToU8(`<office:body>${"<text:p>a<text:span ".repeat(n)}`);
  const t0 = performance.now();
  await readDocument(zipSync({ "content.xml": odt }), "application/vnd.oasis.opendocument.text", "h.odt", LIMITS);
  assert.ok(performance.now() - t0 < 5_000);
});
