import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { createApi } from "../src/api/create.ts";
import { DESCRIBED } from "../src/api/operations.ts";
import { ADMIN, served } from "./support/api.ts";
import { BACKENDS } from "./support/backends.ts";
import { cleanEnv, freePort, MAIN, tempDir } from "./support/cli.ts";
import { startModelServer } from "./support/model-server.ts";

const ROOT = new URL("../../../", import.meta.url).pathname;

for (const b of BACKENDS) {
  describe(`the API reference (${b.name})`, () => {
    test("GET /v1/openapi.json needs no token and describes every route the API serves, with the tenant header and the key returned at tenant creation", async (t) => {
      const s = await served(t, b);
      const res = await s.call("GET", "/v1/openapi.json", { token: null });
      assert.equal(res.status, 200);
      const doc = res.body;
      assert.equal(doc.openapi, "3.1.0");
      const served_ = createApi(s.app)
        .routes.filter((r) => r.method !== "ALL")
        .map((r) => `${r.method} ${r.path}`);
      assert.deepEqual(
        [...new Set(served_)].sort(),
        [...DESCRIBED].sort(),
        "the reference lists exactly the routes served",
      );
      const create = doc.paths["/v1/tenants"].post;
      assert.deepEqual(create.requestBody.content["application/json"].schema.required, ["name"]);
      assert.ok(
        create.requestBody.content["application/json"].schema.properties.settings.properties.timezone,
        "settings described from TenantSettings",
      );
      const created = create.responses["201"].content["application/json"].schema;
      assert.match(created.properties.apiKey.description, /shown once/);
      const message = doc.paths["/v1/messages"].post;
      assert.ok(
        message.parameters.some((p: { name: string; in: string }) => p.name === "x-agentd-tenant" && p.in === "header"),
      );
      assert.equal(
        message.requestBody.content["application/json"].schema.properties.text.maxLength,
        32_000,
        "from the route's own schema",
      );
      assert.ok(message.responses["202"].content["text/event-stream"]);
      assert.deepEqual(doc.paths["/health"].get.security, []);
      assert.match(doc.info.description, /X-Agentd-Tenant/i);
      // What the reference says is what the API does: its own example is accepted.
      const made = await s.call("POST", "/v1/tenants", {
        token: ADMIN,
        body: { name: "from the reference", settings: { timezone: "Europe/Paris" } },
      });
      assert.equal(made.status, 201);
      for (const k of Object.keys(created.properties)) assert.ok(k in made.body, `${k} is in the answer`);
    });

    test("a schedule time without a UTC offset gets an error that says so", async (t) => {
      const s = await served(t, b);
      const local = await s.call("POST", "/v1/schedules", { body: { prompt: "stretch", at: "2030-05-01T09:00:00" } });
      assert.equal(local.status, 400);
      assert.match(
        local.body.error.message,
        /at: "2030-05-01T09:00:00" has no UTC offset: add one \(Z for UTC, or \+02:00 and the like\), e\.g\. 2026-05-01T09:00:00Z/,
      );
      const garbage = await s.call("POST", "/v1/schedules", { body: { prompt: "stretch", at: "next tuesday" } });
      assert.match(garbage.body.error.message, /at: it must be an ISO 8601 time with its UTC offset/);
      assert.equal(
        (await s.call("POST", "/v1/schedules", { body: { prompt: "stretch", at: "2030-05-01T09:00:00+02:00" } }))
          .status,
        201,
      );
      const zone = await s.call("POST", "/v1/schedules", {
        body: { prompt: "stretch", cron: "0 9 * * *", timezone: "Mars/Olympus" },
      });
      assert.equal(zone.status, 400);
      assert.match(zone.body.error.message, /timezone: it must be an IANA time zone/);
    });
  });
}

describe("docs", () => {
  test("the README links the design inside the repository, the API reference, and explains EBADENGINE under Node 20", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    assert.ok(!/\]\(\.\.\//.test(readme), "no link leaves the repository");
    for (const [, target] of readme.matchAll(/\]\(([^)#:]+)(#[^)]*)?\)/g))
      assert.ok(existsSync(join(ROOT, target as string)), `${target} exists`);
    assert.match(readme, /\[`docs\/design\.md`\]\(docs\/design\.md\)/);
    assert.match(readme, /\/v1\/openapi\.json/);
    assert.match(readme, /EBADENGINE/);
    const design = readFileSync(join(ROOT, "docs/design.md"), "utf8");
    assert.match(design, /^# agentd — design/);
    assert.match(design, /\/v1\/openapi\.json/);
  });

  test("agentd chat in-process keeps log lines out of the conversation (they go to <data>/chat.log)", async (t) => {
    const model = await startModelServer();
    t.after(() => model.close());
    // The first model call fails: the kernel logs the retry, which used to land in the terminal.
    model.script({ status: 500, retryAfterSeconds: 0 }, { text: "Back again." });
    const dir = tempDir(t);
    const env = cleanEnv({
      AGENTD_MODEL_BASE_URL: model.url,
      AGENTD_MODEL: "mock-model",
      AGENTD_PORT: String(await freePort()),
    });
    const child = spawn(process.execPath, [MAIN, "chat", "--data", dir], { env });
    child.stdin.end("hello\n");
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    const code = await new Promise((r) => child.on("exit", r));
    clearTimeout(timer);
    assert.equal(code, 0, stderr);
    assert.match(stdout, /^\(the model call failed; trying again, attempt 2\)\nBack again\.\n$/);
    assert.ok(!/^\{/m.test(stdout + stderr), `no JSON line in the terminal: ${stderr}`);
    assert.match(stderr, /its log goes to .*chat\.log/);
    assert.match(
      readFileSync(join(dir, "chat.log"), "utf8"),
      /^\{.*"level":"warn"/m,
      "the retry was logged to the file",
    );
  });
});
