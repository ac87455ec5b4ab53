// The dashboard is loaded on its first request (dashboard/mount.ts): every page is still served at
// its path, with its headers, its sign-in and its errors; other paths get the API's JSON 404.
import assert from "node:assert/strict";
import { test } from "node:test";
import { dashboardApp } from "../../src/dashboard/index.ts";
import { DASHBOARD_ROOTS } from "../../src/dashboard/mount.ts";
import { served } from "../support/api.ts";
import { BACKENDS } from "../support/backends.ts";

for (const b of BACKENDS)
  test(`the dashboard loaded on first use: pages, sign-in, headers and 404s as before (${b.name})`, async (t) => {
    const s = await served(t, b);
    // Every route the dashboard serves is under a root the server sends to it.
    const d = dashboardApp(s.app, { api: null as never, throttle: null as never });
    const roots = new Set<string>(DASHBOARD_ROOTS);
    for (const r of d.routes) assert.ok(roots.has(r.path.split("/")[1] ?? ""), `${r.method} ${r.path} is mounted`);

    const login = await s.call("GET", "/login", { token: null });
    assert.equal(login.status, 200);
    assert.match(login.headers.get("content-type") ?? "", /text\/html/);
    assert.ok(login.headers.get("content-security-policy"), "the dashboard's headers");
    const asset = await s.call("GET", "/assets/dash.js", { token: null });
    assert.equal(asset.status, 200);

    // Signed out, a page sends to the sign-in; the sign-in takes a tenant key and opens a session.
    const overview = await fetch(`${s.url}/`, { redirect: "manual" });
    assert.equal(overview.status, 303);
    assert.match(overview.headers.get("location") ?? "", /^\/login/);
    const form = (token: string) =>
      fetch(`${s.url}/login`, {
        method: "POST",
        redirect: "manual",
        headers: { origin: s.url, "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ token, next: "/runs" }),
      });
    assert.equal((await form("not-a-key")).status, 401);
    const signed = await form(s.key);
    assert.equal(signed.status, 303);
    assert.equal(signed.headers.get("location"), "/runs");
    const cookie = (signed.headers.get("set-cookie") ?? "").split(";")[0] as string;
    const runs = await fetch(`${s.url}/runs`, { headers: { cookie } });
    assert.equal(runs.status, 200);
    assert.match(await runs.text(), /<html/i);

    // Paths no page serves: the API's JSON 404, under a dashboard root or not.
    for (const path of ["/runs/a/b/c", "/nowhere", "/v1/nowhere"]) {
      const r = await s.call("GET", path);
      assert.equal(r.status, 404, path);
      assert.equal(r.body.error?.code ?? r.body.code, "not_found", `${path}: ${r.text}`);
    }
  });
