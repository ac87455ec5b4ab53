// The typed client (hc over AgentdApi) calls the real routes; a wrong path, parameter or body fails
// the type-check (`npx tsc --noEmit -p tsconfig.json`: each @ts-expect-error below must be an error).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { describe, test } from "node:test";
import { type AgentdClient, agentdClient } from "../../src/api/client.ts";
import { createApi } from "../../src/api/create.ts";
import { ADMIN } from "../support/api.ts";
import { testAgentd } from "../support/app.ts";
import { BACKENDS } from "../support/backends.ts";

for (const b of BACKENDS) {
  describe(`HTTP API: the typed client (${b.name})`, () => {
    test("the operator makes a tenant, the tenant sends a message and reads its run, through typed calls", async (t) => {
      const { app } = await testAgentd(t, b, { noModel: true, worker: false });
      const api = createApi(app);
      const fetch = ((input: Request | string | URL, init?: RequestInit) =>
        api.request(input, init)) as typeof globalThis.fetch;
      const admin = agentdClient("http://agentd.test", { token: ADMIN, fetch });

      const made = await admin.v1.tenants.$post({ json: { name: "typed" } });
      assert.equal(made.status, 201);
      const { tenant, apiKey } = await made.json();
      assert.equal(tenant.name, "typed");

      const client = agentdClient("http://agentd.test/", { token: apiKey, fetch });
      const sent = await client.v1.messages.$post({ json: { text: "hello", conversation: "typed" } });
      assert.ok(sent.status === 202, String(sent.status));
      const accepted = await sent.json();
      const run = await client.v1.runs[":id"].$get({ param: { id: accepted.runId } });
      assert.equal(run.status, 200);
      assert.equal((await run.json()).id, accepted.runId);
      const listed = await (await client.v1.runs.$get({ query: { limit: "5" } })).json();
      assert.deepEqual(
        listed.runs.map((r) => r.id),
        [accepted.runId],
      );

      // The admin acts for a tenant it names; the header is read on every request.
      let acting: string | null = null;
      const operator = agentdClient("http://agentd.test", { token: ADMIN, fetch, tenant: () => acting });
      assert.equal((await operator.v1.sessions.$get({ query: {} })).status, 400, "no tenant named: the clear 400");
      acting = tenant.id;
      const sessions = await (await operator.v1.sessions.$get({ query: {} })).json();
      assert.equal(sessions.sessions.length, 1);

      // An error answer is a Response with the API's error body.
      const missing = await client.v1.runs[":id"].$get({ param: { id: "nope" } });
      assert.equal(missing.status, 404);
      assert.equal(((await missing.json()) as unknown as { error: { code: string } }).error.code, "not_found");
    });
  });
}

test("agentd/client loads the client alone: none of the server (app, store, channels) comes with it", () => {
  // A child process records every module it resolves while importing the entry a dashboard uses.
  const script = `
    import { registerHooks } from "node:module";
    const seen = [];
    registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); seen.push(r.url); return r; } });
    const client = await import("agentd/client");
    console.log(JSON.stringify({ exports: Object.keys(client).sort(), seen }));`;
  const out = JSON.parse(
    execFileSync(process.execPath, ["--input-type=module", "-e", script], {
      cwd: new URL("..", import.meta.url),
      encoding: "utf8",
    }),
  );
  assert.deepEqual(out.exports, ["agentdClient"]);
  const ours = (out.seen as string[]).filter((u) => u.includes("/packages/agentd/src/"));
  assert.deepEqual(
    ours.map((u) => u.replace(/^.*\/packages\/agentd\//, "")),
    ["src/api/client.ts"],
  );
  assert.ok(
    !(out.seen as string[]).some((u) => /grammy|pg\/|@agentd\/kernel|kernel\/src/.test(u)),
    out.seen.join("\n"),
  );
});

/** Never called: what the type-check refuses. */
export function refusedByTheTypeCheck(client: AgentdClient): void {
  // @ts-expect-error: there is no such route
  void client.v1.nothing.$get();
  // @ts-expect-error: a message's field is `text`, not `txt`
  void client.v1.messages.$post({ json: { txt: "hello" } });
  // @ts-expect-error: a decision is once, always or deny
  void client.v1.approvals[":id"].$post({ param: { id: "a" }, json: { decision: "maybe" } });
  // @ts-expect-error: the run's id is a path parameter, and it is required
  void client.v1.runs[":id"].$get({});
  // @ts-expect-error: tenants are created with POST, not PUT
  void client.v1.tenants.$put({ json: { name: "x" } });
}
