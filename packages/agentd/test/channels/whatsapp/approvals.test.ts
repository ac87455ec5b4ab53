import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { approvals } from "../../../src/agent/approvals.ts";
import { policies } from "../../../src/agent/policy.ts";
import { BACKENDS } from "../../support/backends.ts";
import { until } from "../../support/wait.ts";
import { whatsappRig } from "../../support/whatsapp-rig.ts";
import { messagePayload } from "../../support/whatsapp-server.ts";

const ALICE = "15557770001";
const BOB = "15557770002";

for (const b of BACKENDS) {
  describe(`whatsapp cloud api (${b.name})`, () => {
    test("an approval is three reply buttons bound to the call; a press decides it once, a stale or foreign press is refused, YES code works too", async (t) => {
      const { app, wa, model, text, post, pair, to, tenantId } = await whatsappRig(t, b);
      const scope = app.tenants.scope(tenantId);
      await policies.set(scope, { tool: "remember", decision: "ask" }, Date.now());
      await pair(ALICE);

      model.script(
        { toolCalls: [{ name: "remember", arguments: { content: "birthday is May 3" } }] },
        { text: "Saved." },
      );
      await text(ALICE, "remember my birthday");
      const ask = await until(() => to(ALICE).find((m) => m.type === "interactive"), "the approval request");
      const pending = (await approvals.list(scope))[0]!;
      assert.match(ask.text, /^Approve remember: \{"content":"birthday is May 3"\}\?/);
      assert.match(ask.text, new RegExp(`YES ${pending.code} / NO ${pending.code}`));
      assert.deepEqual(ask.buttons, [
        { id: `apr:${pending.id}:once`, title: "Approve once" },
        { id: `apr:${pending.id}:always`, title: "Always" },
        { id: `apr:${pending.id}:deny`, title: "Deny" },
      ]);
      const press = (from: string, id: string, title: string, o: { id?: string } = {}) =>
        post(
          messagePayload(
            wa.phoneNumberId,
            from,
            {
              type: "interactive",
              interactive: { type: "button_reply", button_reply: { id, title } },
              context: { from: wa.phoneNumberId, id: ask.id },
            },
            o,
          ),
        );

      // Someone of another tenant presses a forwarded button: not theirs.
      const other = await app.tenants.create("other", {});
      const { code: pc } = await app.tenants.createPairingCode(other.id);
      await text(BOB, `/start ${pc}`);
      assert.equal((await press(BOB, `apr:${pending.id}:once`, "Approve once")).status, 200);
      assert.equal(to(BOB).at(-1)!.text, "This button is not yours.");
      assert.equal((await approvals.get(scope, pending.id))?.status, "pending");

      // A colleague of the same tenant, in his own chat: not the conversation the approval was asked in.
      const CAROL = "15557770003";
      await pair(CAROL);
      await press(CAROL, `apr:${pending.id}:once`, "Approve once");
      assert.equal(to(CAROL).at(-1)!.text, "This button is not yours.");
      await text(CAROL, `YES ${pending.code}`);
      assert.match(to(CAROL).at(-1)!.text, /asked in another conversation/);
      assert.equal((await approvals.get(scope, pending.id))?.status, "pending");

      const yes = await press(ALICE, `apr:${pending.id}:always`, "Always");
      assert.equal(yes.status, 200);
      assert.equal((await app.kernel.result<{ text: string }>(pending.runId)).text, "Saved.");
      assert.equal((await approvals.get(scope, pending.id))?.status, "approved");
      assert.equal(await app.memory.count(scope), 1);
      assert.ok(to(ALICE).some((m) => m.text === "Approved, and always from now on."));
      const stale = await press(ALICE, `apr:${pending.id}:deny`, "Deny");
      assert.equal(stale.status, 200);
      assert.equal(to(ALICE).at(-1)!.text, "Already approved.");
      assert.equal((await approvals.get(scope, pending.id))?.status, "approved", "the first decision stands");
      const always = await policies.list(scope);
      assert.ok(
        always.some((p) => p.tool === "remember" && p.decision === "allow"),
        "always: the tool is allowed from now on",
      );

      // By code, for people who type instead of pressing.
      await policies.set(scope, { tool: "remember", decision: "ask" }, Date.now());
      model.script(
        { toolCalls: [{ name: "remember", arguments: { content: "pin is 1234" } }] },
        { text: "Not saved." },
      );
      await text(ALICE, "remember my pin");
      const second = await until(
        async () => (await approvals.list(scope)).find((a) => a.status === "pending"),
        "the second approval",
      );
      await text(ALICE, `no ${second.code.toLowerCase()}`);
      assert.equal((await app.kernel.result<{ text: string }>(second.runId)).text, "Not saved.");
      assert.equal((await approvals.get(scope, second.id))?.status, "denied");
      assert.equal(await app.memory.count(scope), 1);
    });
  });
}
