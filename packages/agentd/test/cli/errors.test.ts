// Which errors the CLI prints as one line (ours) and which keep their stack (bugs): by is() and code, not by words.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { RunNotFoundError } from "@agentd/kernel";
import { ApiClient } from "../../src/cli/client.ts";
import { CliError, ownMessage } from "../../src/cli/errors.ts";
import { migrate } from "../../src/db/index.ts";
import { SqliteDb } from "../../src/db/sqlite.ts";
import { AgentdError } from "../../src/errors.ts";
import { UnscopedQueryError } from "../../src/tenancy/scope.ts";

test("a database newer than this agentd is refused with an os_schema_too_new error the CLI prints as one line", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "agentd-cli-errors-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const db = new SqliteDb(join(dir, "os.db"));
  t.after(() => db.close());
  await migrate(db);
  await db.run("INSERT INTO os_schema (version, applied_at) VALUES (?, ?)", [999_999, 0]);
  const refused = await migrate(db).then(
    () => null,
    (e: unknown) => e,
  );
  assert.ok(AgentdError.is(refused, "os_schema_too_new"), String(refused));
  assert.match(
    ownMessage(refused) ?? "",
    /^the OS data is at schema version 999999, newer than this agentd .*: upgrade agentd/,
  );
});

test("the same words in a plain Error are not ours: the CLI recognises codes, never messages", () => {
  assert.equal(
    ownMessage(new Error("the OS data is at schema version 9, newer than this agentd (8): upgrade agentd")),
    null,
  );
  assert.equal(ownMessage(new Error("no run x")), null);
});

test("agentd's and the kernel's errors are one line; a bug of ours keeps its stack", () => {
  assert.equal(
    ownMessage(new CliError("no token to talk to agentd\n  at http://x")),
    "no token to talk to agentd at http://x",
  );
  assert.equal(ownMessage(new RunNotFoundError("r1")), "no run r1; check the id (kernel.listRuns() lists runs).");
  assert.equal(ownMessage(new UnscopedQueryError("SELECT * FROM os_sessions")), null);
});

test("a refusal by the server is a cli_refused error with the answer's status and code", async (t) => {
  const { serve } = await import("@hono/node-server");
  const server = serve({
    fetch: () => Response.json({ error: { code: "not_found", message: "run r9 not found" } }, { status: 404 }),
    hostname: "127.0.0.1",
    port: 0,
  });
  t.after(() => void server.close());
  await new Promise((r) => server.once("listening", r));
  const { port } = server.address() as { port: number };
  const e = await new ApiClient(`http://127.0.0.1:${port}`, "t").api.v1.runs[":id"].$get({ param: { id: "r9" } }).then(
    () => null,
    (x: unknown) => x,
  );
  assert.ok(CliError.is(e, "cli_refused"), String(e));
  assert.deepEqual([e.status, e.serverCode], [404, "not_found"]);
  assert.equal(e.message, `GET http://127.0.0.1:${port}/v1/runs/r9 answered HTTP 404: run r9 not found`);
  const unreachable = await new ApiClient("http://127.0.0.1:1", "t").api.health.$get().then(
    () => null,
    (x: unknown) => x,
  );
  assert.ok(CliError.is(unreachable, "cli_unreachable"), String(unreachable));
});
