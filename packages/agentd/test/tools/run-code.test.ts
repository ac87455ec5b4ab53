import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { approvals } from "../../src/agent/approvals.ts";
import { policies } from "../../src/agent/policy.ts";
import { testAgentd } from "../support/app.ts";
import { BACKENDS } from "../support/backends.ts";
import type { RecordedRequest } from "../support/model-server.ts";
import { until } from "../support/wait.ts";
import { skip } from "../sandbox/rig.ts";
import { CHART_PY, sandboxConfig } from "../support/chart.ts";
import { pairingTelegramRig, sentTo } from "../support/telegram-rig.ts";
import { pressUpdate, textUpdate } from "../support/telegram-updates.ts";

const BOB = { id: 611, is_bot: false, first_name: "Bob", username: "bob" };

const lastTool = (req: RecordedRequest) => String(req.body.messages.at(-1)?.content ?? "");
/** The last tool result the model was sent (images the tools returned may follow it in a user message). */
const toolText = (req: RecordedRequest) =>
  String(req.body.messages.findLast((m: { role?: string }) => m.role === "tool")?.content ?? "");

for (const b of BACKENDS) {
  describe(`run_code in a turn (${b.name})`, { skip }, () => {
    test("a message makes the model run Python after the person approves it; the output and the chart come back, the chart as a blob", {
      timeout: 60_000,
    }, async (t) => {
      const { app, model, tenantId } = await testAgentd(t, b, { config: { sandbox: sandboxConfig() } });
      const tool = app.tools.get("run_code");
      assert.equal(tool?.defaultDecision, "ask", "code asks unless the tenant's policy allows it");
      assert.equal(tool?.risk, "high");
      // After a worker died mid-call: code without network is run again, code with network asks a person.
      const scope0 = app.tenants.scope(tenantId);
      assert.equal(await tool?.rerun?.({ language: "shell", code: "true" }, scope0), true);
      assert.equal(await tool?.rerun?.({ language: "shell", code: "true", network: true }, scope0), false);
      model.script({ toolCalls: [{ name: "run_code", arguments: { language: "python", code: CHART_PY } }] }, (req) => ({
        text: `Done: ${/\\"sum\\":\s*(\d+)/.exec(toolText(req))?.[1] ?? "?"}`,
      }));
      const r = await app.inbox.receive({ tenantId, channel: "http", conversation: "c", text: "chart 3 1 4 1 5" });
      const scope = app.tenants.scope(tenantId);
      const pending = await until(async () => (await approvals.list(scope))[0], "the approval");
      assert.equal(pending.tool, "run_code");
      assert.ok(pending.subject.startsWith("python: \nimport json"), pending.subject);
      await approvals.decide(scope, pending.id, "once", "tester", Date.now(), app.kernel);
      assert.equal((await app.kernel.result<{ text: string }>(r.runId)).text, "Done: 14");
      const output = JSON.parse(
        /^<untrusted source="run_code">\n([\s\S]*)\n<\/untrusted>$/.exec(toolText(model.requests.at(-1)!))?.[1] ?? "{}",
      );
      assert.equal(output.exitCode, 0);
      assert.equal(output.stdout, '{"sum": 14, "max": 5}\n');
      assert.equal(output.files.length, 1);
      assert.equal(output.files[0].path, "chart.png");
      const blob = await app.blobs.get(tenantId, output.files[0].blob);
      assert.equal(blob?.attachment.mime, "image/png");
      // The model saw the chart as an image, and the reply carries it to the person.
      const images = model.requests.at(-1)!.body.messages.at(-1)!.content as { image_url?: { url: string } }[];
      assert.equal(images[1]?.image_url?.url, `data:image/png;base64,${Buffer.from(blob!.data).toString("base64")}`);
      const [reply] = await scope.all<{ attachments: string }>(
        "SELECT attachments FROM os_messages WHERE tenant_id = $tenant AND role = 'assistant'",
      );
      assert.deepEqual(
        (JSON.parse(reply!.attachments) as { id: string }[]).map((a) => a.id),
        [output.files[0].blob],
      );
    });

    test("files persist in the tenant's workspace between calls; only what changed comes back; another tenant sees none of it", {
      timeout: 60_000,
    }, async (t) => {
      const { app, model, tenantId } = await testAgentd(t, b, { config: { sandbox: sandboxConfig() } });
      const other = (await app.tenants.create("other", {})).id;
      for (const id of [tenantId, other])
        await policies.set(app.tenants.scope(id), { tool: "run_code", pattern: "", decision: "allow" }, Date.now());
      const turn = async (tenant: string, language: string, code: string) => {
        model.script({ toolCalls: [{ name: "run_code", arguments: { language, code } }] }, { text: "ok" });
        const r = await app.inbox.receive({ tenantId: tenant, channel: "http", conversation: "c", text: "go" });
        await app.kernel.result(r.runId);
        return JSON.parse(
          /^<untrusted source="run_code">\n([\s\S]*)\n<\/untrusted>$/.exec(toolText(model.requests.at(-1)!))?.[1] ??
            "{}",
        );
      };
      const first = await turn(tenantId, "shell", "mkdir -p data && seq 1 5 > data/n.txt && echo written");
      assert.deepEqual(
        first.files.map((f: { path: string }) => f.path),
        ["data/n.txt"],
      );
      const second = await turn(
        tenantId,
        "javascript",
        "const fs = require('fs'); console.log(fs.readFileSync('data/n.txt', 'utf8').split('\\n').filter(Boolean).map(Number).reduce((a, b) => a + b));",
      );
      assert.equal(second.stdout, "15\n");
      assert.deepEqual(second.files, [], "nothing changed, nothing returned");
      const theirs = await turn(other, "shell", "ls -A; cat data/n.txt");
      assert.equal(theirs.stdout, "");
      assert.match(theirs.stderr, /No such file/);
    });

    test("Telegram: the person approves the code with one tap; the chart it drew arrives as a photo", {
      timeout: 90_000,
    }, async (t) => {
      const { tg, post, model, pair } = await pairingTelegramRig(t, b, { config: { sandbox: sandboxConfig() } });
      await pair(BOB);
      model.script({ toolCalls: [{ name: "run_code", arguments: { language: "python", code: CHART_PY } }] }, (req) => ({
        text: `Sum: ${/\\"sum\\":\s*(\d+)/.exec(toolText(req))?.[1] ?? "?"}`,
      }));
      assert.equal((await post(textUpdate(BOB, "chart 3 1 4 1 5"))).status, 200);
      const ask = await until(
        () =>
          sentTo(tg, BOB.id).find((c) => c.params.reply_markup && /^Approve run_code: python: /.test(c.params.text)),
        "the approval with buttons",
        60_000,
      );
      assert.ok(ask.params.text.includes('open("chart.png", "wb")'), "the approval shows the code");
      const buttons = ask.params.reply_markup.inline_keyboard.flat() as { text: string; callback_data: string }[];
      assert.deepEqual(
        buttons.map((k) => k.text),
        ["Approve once", "Always", "Deny"],
      );
      assert.equal(tg.callsOf("sendPhoto").length, 0, "nothing ran before the tap");
      assert.equal((await post(pressUpdate(BOB, buttons[0]!.callback_data))).status, 200);
      await until(() => sentTo(tg, BOB.id).find((c) => c.params.text === "Sum: 14"), "the reply", 60_000);
      await until(() => tg.callsOf("sendPhoto").length === 1, "the chart as a photo", 30_000);
      const photos = tg.visible(BOB.id).flatMap((m) => (m.file ? [m.file] : []));
      assert.deepEqual(
        photos.map((f) => [f.kind, f.filename]),
        [["photo", "chart.png"]],
      );
      assert.equal(Buffer.from(photos[0]!.bytes).subarray(1, 4).toString("latin1"), "PNG");
    });
  });
}

test("run_code refuses to run without a sandbox unless the operator allowed it, and says so", {
  timeout: 60_000,
}, async (t) => {
  const b = BACKENDS[0]!;
  for (const allow of [false, true]) {
    const { app, model, tenantId } = await testAgentd(t, b, {
      config: { sandbox: sandboxConfig({ bwrap: "/nowhere/bwrap", allowUnsandboxed: allow }) },
    });
    await policies.set(app.tenants.scope(tenantId), { tool: "run_code", pattern: "", decision: "allow" }, Date.now());
    model.script(
      { toolCalls: [{ name: "run_code", arguments: { language: "shell", code: "echo ran" } }] },
      { text: "ok" },
    );
    const r = await app.inbox.receive({ tenantId, channel: "http", conversation: "c", text: "go" });
    await app.kernel.result(r.runId);
    const said = lastTool(model.requests.at(-1)!);
    if (allow) {
      assert.match(said, /"stdout":"ran\\n"/);
      assert.match(said, /WITHOUT a sandbox/);
    } else {
      assert.doesNotMatch(said, /"stdout"/);
      assert.match(said, /no working sandbox on this machine \(bubblewrap is not installed at \/nowhere\/bwrap/);
      assert.match(said, /AGENTD_UNSANDBOXED_CODE=1/);
    }
  }
});
