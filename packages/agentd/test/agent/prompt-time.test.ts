import assert from "node:assert/strict";
import { test } from "node:test";
import { instructions } from "../../src/agent/prompt.ts";

const now = (o: { now: number; timezone: string }) =>
  /Now: (.*)\n?/.exec(instructions({ ...o, summary: "", background: null, autopilot: false }))?.[1];

test("the prompt's time is the tenant's local time, on both sides of a change of clocks, from a formatter made once a zone", () => {
  // 2026-03-29 01:30 UTC: Paris has just moved to summer time (UTC+2); New York has been on it since 03-08.
  const t = Date.UTC(2026, 2, 29, 1, 30, 5);
  assert.equal(now({ now: t, timezone: "Europe/Paris" }), "2026-03-29T03:30:05 (Europe/Paris).");
  assert.equal(now({ now: t - 3_600_000, timezone: "Europe/Paris" }), "2026-03-29T01:30:05 (Europe/Paris).");
  assert.equal(now({ now: t, timezone: "America/New_York" }), "2026-03-28T21:30:05 (America/New_York).");
  assert.equal(now({ now: t, timezone: "UTC" }), "2026-03-29T01:30:05 (UTC).");
  // What the prompt said before the formatter was kept: toLocaleString with the same options.
  for (const timezone of ["Asia/Kolkata", "Pacific/Chatham", "America/St_Johns", "Australia/Lord_Howe"])
    for (let i = 0; i < 50; i++) {
      const ms = t + i * 7_777_777_777;
      const before = new Date(ms).toLocaleString("sv-SE", { timeZone: timezone, hour12: false }).replace(" ", "T");
      assert.equal(now({ now: ms, timezone }), `${before} (${timezone}).`);
    }
  // A zone the runtime does not know: UTC in ISO form, never a failed turn.
  assert.equal(now({ now: t, timezone: "Mars/Olympus" }), "2026-03-29T01:30:05.000Z (Mars/Olympus).");
});
