/**
 * A worker SIGKILLed while a Composio action executes: the retry does not execute it again silently.
 * The action may or may not have happened at Composio (a star, an email sent), so a person is asked
 * ("RUN AGAIN?"), and it executes again only once they approve, as an ssh command does.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { approvals } from "../../src/agent/approvals.ts";
import { policies } from "../../src/agent/policy.ts";
import { COMPOSIO_TOOLS } from "../../src/composio/source.ts";
import { composioUserId } from "../../src/composio/user.ts";
import { BACKENDS } from "../support/backends.ts";
import { startComposioServer } from "../support/composio-server.ts";
import { crashBase } from "../support/crash-rig.ts";
import type { RecordedRequest } from "../support/model-server.ts";
import { until } from "../support/wait.ts";

const WORKER = fileURLToPath(new URL("../procs/agentd-worker.ts", import.meta.url));
const KEY = "ck_operator";
const STAR = "GITHUB_STAR_A_REPOSITORY_FOR_THE_AUTHENTICATED_USER";

test("of Composio's tools, only execute asks before running again after its worker died: the others read, or delete what a second call finds gone", () => {
  assert.deepEqual(
    COMPOSIO_TOOLS.map((t) => [t.name, t.rerun ?? false]),
    [
      ["find_tools", true],
      ["execute", false],
      ["accounts", true],
      ["disconnect", true],
    ],
  );
});

for (const b of BACKENDS)
  describe(`crash: SIGKILL while a Composio action executes (${b.name})`, () => {
    test("the retry asks a person before executing it again (its outcome unknown), and executes it again only once approved", {
      timeout: 240_000,
    }, async (t) => {
      const composio = await startComposioServer({ keys: [KEY] });
      t.after(() => composio.close());
      const { env, client, tenantId, model, place } = await crashBase(t, b, {
        tenant: "apps",
        env: {
          AGENTD_COMPOSIO_API_KEY: KEY,
          AGENTD_COMPOSIO_BASE_URL: composio.url,
          AGENTD_COMPOSIO_TOOLKIT_VERSIONS: "github=20250909_00",
        },
      });
      env.AGENTD_DATA = place.dataDir;
      // The tenant's GitHub account is connected already: the call goes straight to its execution.
      composio.accounts.set("ca_github", {
        id: "ca_github",
        user_id: composioUserId(tenantId),
        toolkit: "github",
        auth_config_id: "ac_github",
        status: "ACTIVE",
        callback_url: null,
        token: "gho_planted",
        created_at: new Date().toISOString(),
      });
      const scope = client.tenants.scope(tenantId);
      await policies.set(scope, { tool: "composio__composio__execute", decision: "allow" }, Date.now());
      const star = { toolkit: "github", tool: STAR, arguments: { owner: "octo", repo: "hello" } };
      model.script({ toolCalls: [{ name: "composio__composio__execute", arguments: star }] });
      // Every later call answers from the last tool result: a model step may run twice when a busy worker's
      // short lease lapses (steps are at least once; one result is recorded), and a queued answer would run out.
      model.fallback = (req: RecordedRequest) => ({
        text: `Result: ${String(req.body.messages.at(-1)?.content ?? "")}`,
      });
      const procs: ChildProcess[] = [];
      t.after(() => {
        for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
      });
      const worker = () =>
        new Promise<ChildProcess>((resolve, reject) => {
          const p = spawn(process.execPath, [WORKER], { env, stdio: ["ignore", "pipe", "pipe"] });
          procs.push(p);
          let err = "";
          p.stderr!.on("data", (d) => (err += d));
          p.stdout!.on("data", (d) => String(d).includes("ready") && resolve(p));
          p.on("exit", (code, sig) => reject(new Error(`worker exited (${code ?? sig}) before ready: ${err}`)));
        });
      const executions = () => composio.requests.filter((q) => q.path.endsWith(`/tools/execute/${STAR}`)).length;

      // The execution reaches Composio and is held there; the worker dies before any answer.
      const release = composio.hold();
      const w = await worker();
      const r = await client.inbox.receive({ tenantId, channel: "http", conversation: "c", text: "star octo/hello" });
      await until(() => executions() === 1, "the execution to reach Composio", 60_000);
      w.kill("SIGKILL");
      await new Promise<void>((ok) => (w.exitCode !== null || w.signalCode !== null ? ok() : w.on("exit", () => ok())));
      await until(() => composio.dropped === 1, "the held execution to lose its client");
      release();

      await worker();
      const ask = await until(
        async () => (await approvals.list(scope)).find((a) => a.status === "pending"),
        "the approval to execute it again",
        60_000,
      );
      assert.match(
        ask.subject,
        /^RUN AGAIN\? the last attempt's outcome is unknown \(its worker stopped while it ran\): github GITHUB_STAR_A_REPOSITORY_FOR_THE_AUTHENTICATED_USER \{"arguments":\{"owner":"octo","repo":"hello"\}\}$/,
      );
      await new Promise((res) => setTimeout(res, 1000));
      assert.equal(executions(), 1, "not executed again while the person has not answered");
      await approvals.decide(scope, ask.id, "once", "test", Date.now(), client.kernel);
      const out = await client.kernel.result<{ text: string }>(r.runId);
      assert.equal(executions(), 2, "executed again once approved");
      assert.deepEqual(
        composio.executed.map((e) => [e.slug, e.user_id, `${e.arguments.owner}/${e.arguments.repo}`]),
        [[STAR, composioUserId(tenantId), "octo/hello"]],
      );
      assert.match(out.text, /first attempt's outcome is unknown/);
      assert.match(out.text, /successful/);
    });
  });
