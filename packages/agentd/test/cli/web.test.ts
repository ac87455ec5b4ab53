// `agentd web`: a tenant's search provider and browser profile from the CLI (the API's
// /v1/search/providers and /v1/browser/profiles), the profile's sites shown and never a cookie,
// forgotten; exit codes for what does not exist.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { STATE_SECRET } from "../../src/tools/browser/state.ts";
import { ADMIN, served } from "../support/api.ts";
import { BACKENDS } from "../support/backends.ts";
import { cli, envOf } from "./run.ts";

const COOKIE = "sess-8d1f44e0c2b9";
const cookie = (domain: string, value: string) => ({
  name: "sid",
  value,
  domain,
  path: "/",
  expires: -1,
  httpOnly: true,
  secure: true,
  sameSite: "Lax",
});
const profile = JSON.stringify({
  storage: { cookies: [cookie(".shop.example", COOKIE), cookie("news.example", "x")], origins: [] },
  pages: ["https://shop.example/orders?token=abc123secret"],
  active: 0,
});

for (const b of BACKENDS) {
  describe(`agentd web (${b.name})`, () => {
    test("show names the search provider and the profile's sites (no cookie, no query); forget signs them out", async (t) => {
      const s = await served(t, b);
      const env = envOf(s.place);
      const T = ["--tenant", s.tenantId];

      const none = await cli(env, "web", ...T);
      assert.equal(none.code, 0, none.stderr);
      assert.match(none.stdout, /^search: none /);
      // On or off as this machine's Chromium allows: either way, nothing kept yet.
      assert.match(none.stdout, /\nbrowser: (no profile kept \(signed in nowhere\)|off on this deployment)\n$/);

      await s.app.vault.put(s.app.tenants.scope(s.tenantId), STATE_SECRET, profile);
      await s.call("PATCH", `/v1/tenants/${s.tenantId}`, {
        token: ADMIN,
        body: { settings: { searchProvider: "brave" } },
      });
      const shown = await cli(env, "web", "show", ...T);
      assert.equal(shown.code, 0, shown.stderr);
      assert.match(
        shown.stdout,
        /^search: brave, the tenant's own, but its vault has no BRAVE_SEARCH_API_KEY: searches fail until it is stored\n/,
      );
      assert.match(
        shown.stdout,
        /\nbrowser profile default: signed in to news\.example, shop\.example \(2 cookies\); pages https:\/\/shop\.example\n$/,
      );
      const json = await cli(env, "web", ...T, "--json");
      assert.deepEqual(JSON.parse(json.stdout).browser.profiles[0].sites, ["news.example", "shop.example"]);
      for (const out of [shown.stdout, json.stdout]) {
        assert.ok(!out.includes(COOKIE), "never a cookie's value");
        assert.ok(!out.includes("abc123secret"), "never a page's query");
      }

      const forgot = await cli(env, "web", "forget", ...T);
      assert.equal(forgot.code, 0, forgot.stderr);
      assert.equal(forgot.stdout, `forgot browser profile default of tenant ${s.tenantId}: its sites are signed out\n`);
      assert.equal(await s.app.vault.get(s.app.tenants.scope(s.tenantId), STATE_SECRET), null);
      assert.equal((await cli(env, "web", "forget", ...T)).code, 3, "nothing to forget: exit code 3");
      assert.equal((await cli(env, "web", "open", ...T)).code, 2, "an unknown subcommand: exit code 2");
      assert.equal((await cli(env, "web")).code, 2, "no tenant: exit code 2");
    });
  });
}
