// What the CLI prints: columns, times, durations and one-line values, tested directly.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { brief, duration, table, time } from "../../src/cli/format.ts";

describe("cli format", () => {
  test("a table aligns its columns under the header; the last column is not padded and no line ends in spaces", () => {
    assert.equal(
      table(
        ["ID", "NAME", "NOTE"],
        [
          ["1", "alpha", "x"],
          ["22", "b", ""],
        ],
      ),
      "ID  NAME   NOTE\n1   alpha  x\n22  b\n",
    );
    assert.equal(table(["A", "B"], []), "A  B\n", "no rows: the header alone");
    assert.equal(
      table(["LONGHEADER", "X"], [["a", "b"]]),
      "LONGHEADER  X\na           b\n",
      "the header widens a column too",
    );
  });

  test("a time is local YYYY-MM-DD HH:MM:SS with its UTC offset, or in a zone given with its name, or - when there is none", () => {
    const at = new Date(2026, 0, 2, 3, 4, 5);
    const off = -at.getTimezoneOffset();
    const zone = `${off < 0 ? "-" : "+"}${String(Math.floor(Math.abs(off) / 60)).padStart(2, "0")}:${String(Math.abs(off) % 60).padStart(2, "0")}`;
    assert.equal(time(at.getTime()), `2026-01-02 03:04:05 ${zone}`);
    assert.match(time(new Date(2026, 11, 31, 23, 59, 59).getTime()), /^2026-12-31 23:59:59 [+-]\d\d:\d\d$/);
    assert.equal(
      time(Date.UTC(2026, 6, 2, 7, 0, 0), "Europe/Paris"),
      "2026-07-02 09:00:00 Europe/Paris",
      "summer time",
    );
    assert.equal(time(Date.UTC(2026, 0, 2, 8, 0, 0), "Europe/Paris"), "2026-01-02 09:00:00 Europe/Paris");
    assert.equal(time(Date.UTC(2026, 0, 2, 0, 30, 0), "America/New_York"), "2026-01-01 19:30:00 America/New_York");
    assert.equal(time(Date.UTC(2026, 0, 2, 0, 0, 0), "UTC"), "2026-01-02 00:00:00 UTC");
    assert.equal(time(null), "-");
    assert.equal(time(undefined), "-");
    assert.notEqual(time(0), "-", "0 is a time, not none");
  });

  test("a duration reads at a glance: ms under a second, seconds to a tenth, minutes, hours to a tenth", () => {
    assert.equal(duration(0), "0 ms");
    assert.equal(duration(850), "850 ms");
    assert.equal(duration(1000), "1.0 s");
    assert.equal(duration(4200), "4.2 s");
    assert.equal(duration(60_000), "1 min");
    assert.equal(duration(180_000), "3 min");
    assert.equal(duration(3_600_000), "1.0 h");
    assert.equal(duration(9_000_000), "2.5 h");
  });

  test("brief puts a value on one line and cuts it to its length with an ellipsis", () => {
    assert.equal(brief(null), "");
    assert.equal(brief(undefined), "");
    assert.equal(brief("two\n  lines"), "two lines");
    assert.equal(brief({ a: 1, b: [true] }), '{"a":1,"b":[true]}');
    assert.equal(brief("abcdefghij", 5), "abcd…");
    assert.equal(brief("abcde", 5), "abcde", "exactly the length: not cut");
    assert.equal(brief("x".repeat(200)).length, 80, "80 by default");
  });
});
