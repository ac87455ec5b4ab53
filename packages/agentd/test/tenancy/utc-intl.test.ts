import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ADMIN, served } from "../support/api.ts";
import { BACKENDS } from "../support/backends.ts";

/** Counts Intl.DateTimeFormat constructions while `fn` runs. */
async function intlMade(fn: () => Promise<void>): Promise<number> {
  const original = Intl.DateTimeFormat;
  let made = 0;
  const counting = (target: typeof original, args: unknown[]) => (made++, Reflect.construct(target, args));
  Intl.DateTimeFormat = new Proxy(original, { construct: counting, apply: counting });
  try {
    await fn();
  } finally {
    Intl.DateTimeFormat = original;
  }
  return made;
}

for (const b of BACKENDS) {
  describe(`tenants in UTC (${b.name})`, () => {
    // The first Intl.DateTimeFormat with a zone loads some 5 MB of ICU data that an idle agentd keeps
    // resident: making tenants whose heartbeats are in UTC (the default zone) must not need it.
    test("POST /v1/tenants with a heartbeat in UTC builds no Intl.DateTimeFormat; another zone is still checked", async (t) => {
      const s = await served(t, b);
      const admin = { token: ADMIN };
      const made = await intlMade(async () => {
        for (const [i, timezone] of [undefined, "UTC"].entries()) {
          const settings = { heartbeat: "*/30 * * * *", ...(timezone ? { timezone } : {}) };
          const r = await s.call("POST", "/v1/tenants", { ...admin, body: { name: `utc-${i}`, settings } });
          assert.equal(r.status, 201, r.text);
          assert.equal(r.body.tenant.settings.timezone, "UTC");
        }
      });
      assert.equal(made, 0);
      const paris = await s.call("POST", "/v1/tenants", {
        ...admin,
        body: { name: "paris", settings: { heartbeat: "0 9 * * *", timezone: "Europe/Paris" } },
      });
      assert.equal(paris.status, 201, paris.text);
      const mars = await s.call("POST", "/v1/tenants", {
        ...admin,
        body: { name: "m", settings: { timezone: "Mars/Base" } },
      });
      assert.equal(mars.status, 400, mars.text);
    });
  });
}
