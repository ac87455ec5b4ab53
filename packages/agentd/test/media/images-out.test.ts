/**
 * Images out: a chart `run_code` drew in the sandbox reaches the person's channel as a photo with the
 * reply, through the outbox, exactly once, though the photo's first send fails and the delivery is
 * retried. (A browser screenshot sent with `send_file`: test/agent/tool-files.test.ts.)
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { policies } from "../../src/agent/policy.ts";
import { outbox } from "../../src/channels/outbox.ts";
import { skip } from "../sandbox/rig.ts";
import { BACKENDS } from "../support/backends.ts";
import { CHART_PY, sandboxConfig } from "../support/chart.ts";
import { pairingTelegramRig, sentTo } from "../support/telegram-rig.ts";
import { textUpdate } from "../support/telegram-updates.ts";
import { until } from "../support/wait.ts";
import { whatsappRig } from "../support/whatsapp-rig.ts";

const EVE = { id: 705, is_bot: false, first_name: "Eve", username: "eve" };
const WA_EVE = "15550005555";
const chart = { toolCalls: [{ name: "run_code", arguments: { language: "python", code: CHART_PY } }] };

for (const b of BACKENDS) {
  describe(`a sandbox chart to the person (${b.name})`, { skip }, () => {
    test("Telegram: the chart run_code drew goes as a photo after the text, once, though its first send failed", {
      timeout: 90_000,
    }, async (t) => {
      const { app, tg, post, model, pair, tenantId } = await pairingTelegramRig(t, b, {
        config: { sandbox: sandboxConfig() },
      });
      await pair(EVE);
      const scope = app.tenants.scope(tenantId);
      await policies.set(scope, { tool: "run_code", pattern: "", decision: "allow" }, Date.now());
      model.script(chart, { text: "Here is your chart." });
      tg.failNext("sendPhoto", 500);
      assert.equal((await post(textUpdate(EVE, "chart 3 1 4 1 5"))).status, 200);
      await until(() => tg.callsOf("sendPhoto").length === 2, "the photo sent again after its failure", 60_000);

      const run = (await app.kernel.listRuns({ workflow: "agent.turn" })).at(0)!;
      await app.kernel.result(run.id);
      const [reply] = await scope.all<{ attachments: string }>(
        "SELECT attachments FROM os_messages WHERE tenant_id = $tenant AND role = 'assistant'",
      );
      const [png] = JSON.parse(reply!.attachments) as { id: string; mime: string; name: string }[];
      assert.equal(png?.mime, "image/png");
      assert.equal(png?.name, "chart.png");
      const bytes = (await app.blobs.get(tenantId, png!.id))!.data;
      assert.equal(Buffer.from(bytes).subarray(1, 4).toString("latin1"), "PNG");

      assert.equal(
        sentTo(tg, EVE.id).filter((c) => c.params.text === "Here is your chart.").length,
        1,
        "the text once",
      );
      const photos = tg.visible(EVE.id).flatMap((m) => (m.file ? [m.file] : []));
      assert.deepEqual(
        photos.map((f) => [f.kind, f.filename]),
        [["photo", "chart.png"]],
        "the chart once, as a photo",
      );
      assert.deepEqual(new Uint8Array(photos[0]!.bytes), new Uint8Array(bytes));
      const parts = await outbox.parts(scope, `reply:${run.id}`);
      assert.equal(parts.length, 2, "the text and the photo, a part each");
      assert.ok(parts.every((p) => p.externalId));
    });

    test("WhatsApp Cloud API: the chart is uploaded and sent as an image after the text, once, though its first send failed", {
      timeout: 90_000,
    }, async (t) => {
      const { app, wa, pair, to, text, model, tenantId } = await whatsappRig(t, b, {
        config: { sandbox: sandboxConfig() },
      });
      await pair(WA_EVE);
      await policies.set(app.tenants.scope(tenantId), { tool: "run_code", pattern: "", decision: "allow" }, Date.now());
      model.script(chart, { text: "Here is your chart." });
      // The text is accepted; the image after it fails once (Meta's own trouble), and the delivery is retried.
      wa.intercept = (call) => {
        if ((call.body as { text?: { body?: string } }).text?.body === "Here is your chart.") {
          wa.intercept = undefined;
          wa.failNext({ status: 500, code: 1, message: "An unknown error occurred" });
        }
      };
      assert.equal((await text(WA_EVE, "chart 3 1 4 1 5")).status, 200);
      const image = await until(() => to(WA_EVE).find((m) => m.type === "image"), "the chart", 60_000);
      const run = (await app.kernel.listRuns({ workflow: "agent.turn" })).at(0)!;
      await app.kernel.result(run.id);
      const mine = to(WA_EVE).filter((m) => !/Paired|pair/i.test(m.text));
      assert.deepEqual(
        mine.map((m) => [m.type, m.text]),
        [
          ["text", "Here is your chart."],
          ["image", ""],
        ],
      );
      assert.equal(image.file?.mime, "image/png");
      assert.equal(Buffer.from(image.file!.data).subarray(1, 4).toString("latin1"), "PNG");
      const imageSends = wa.calls.filter((c) => c.path.endsWith("/messages") && c.body.type === "image");
      assert.deepEqual(
        imageSends.map((c) => c.status),
        [500, 200],
        "the image's send failed once and was tried again",
      );
    });
  });
}
