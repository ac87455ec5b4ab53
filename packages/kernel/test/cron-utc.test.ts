import assert from "node:assert/strict";
import { test } from "node:test";
import { Cron } from "croner";
import { nextTick, parseCron, ticksBetween } from "../src/schedule/cron.ts";

// Schedules in UTC are computed by croner as a fixed offset of 0, never through Intl: the first
// Intl.DateTimeFormat with a zone loads ICU's locale and zone data (about 5 MB resident), which an
// idle agentd whose tenants' heartbeats are all in UTC would otherwise hold for nothing.

const EXPRS = [
  "*/30 * * * *",
  "0 9 * * 1-5",
  "* * * * * *",
  "5 4 * * *",
  "0 0 29 2 *",
  "0 0 L * *",
  "15 */2 * * SUN",
  "0 12 1W * *",
  "0 0 * * 5#2",
  "7 * * * * *",
  "30 3 * 2 *",
];

/** Counts Intl.DateTimeFormat constructions while `fn` runs. */
function intlMade(fn: () => void): number {
  const original = Intl.DateTimeFormat;
  let made = 0;
  Intl.DateTimeFormat = new Proxy(original, {
    construct(target, args) {
      made++;
      return Reflect.construct(target, args);
    },
    apply(target, self, args) {
      made++;
      return Reflect.apply(target, self, args);
    },
  });
  try {
    fn();
  } finally {
    Intl.DateTimeFormat = original;
  }
  return made;
}

test("a UTC schedule is checked, parsed and stepped without Intl", () => {
  const made = intlMade(() => {
    // Expressions of this test only: parseCron keeps what it parsed.
    const cron = parseCron("3-59/7 * * * *", "UTC");
    const at = Date.UTC(2026, 2, 29, 0, 30);
    assert.equal(nextTick(cron, at), Date.UTC(2026, 2, 29, 0, 31));
    assert.equal(ticksBetween(cron, Date.UTC(2026, 2, 29, 0, 31), at + 3_600_000, 100).ticks.length, 9);
  });
  assert.equal(made, 0);
  // Another zone still goes through Intl, which checks it exists.
  assert.ok(intlMade(() => nextTick(parseCron("3-59/7 * * * *", "Europe/Paris"), Date.UTC(2026, 2, 29))) > 0);
});

test("UTC as a fixed offset gives the same next times as croner's zone UTC", () => {
  let at = Date.UTC(2019, 11, 31, 23, 59, 59);
  for (let i = 0; i < 600; i++) {
    // Steps of about a day and a half with odd seconds and milliseconds, over years (leap days included).
    at += 129_600_000 + ((i * 7919) % 86_400) * 1000 + (i % 997);
    for (const expr of EXPRS) {
      const zone = new Cron(expr, { timezone: "UTC", paused: true }).nextRun(new Date(at))?.getTime() ?? null;
      assert.equal(nextTick(parseCron(expr, "UTC"), at), zone, `${expr} after ${new Date(at).toISOString()}`);
    }
  }
});
