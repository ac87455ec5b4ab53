// Within one invocation of the function: a turn streamed to an API client as SSE, and a Telegram reply
// shown as a live draft while the model writes; on the cron's tick, a tenant's heartbeat.
import assert from "node:assert/strict";
import { test } from "node:test";
import { FakeClock } from "@agentd/kernel";
import { createAgentdHandler, type TickReport } from "../../src/serverless/index.ts";
import { pgUrl } from "../support/backends.ts";
import { sentTo } from "../support/telegram-rig.ts";
import { textUpdate } from "../support/telegram-updates.ts";
import { ADMIN_TOKEN, functionRig, tickRequest, webhookRequest } from "./rig.ts";

const BASE = "http://fn.test";
const ALICE = { id: 4501, is_bot: false, first_name: "Alice", username: "alice" };
const skip = pgUrl ? false : "no Postgres (set DATABASE_URL): agentd as a function runs on Postgres only";
const REPLY = "Streamed within one invocation of the function, word by word.";

test("a turn streams as SSE within the invocation that accepted it, with no waitUntil and no tick", {
  skip,
}, async (t) => {
  const { env, model } = await functionRig(t);
  const h = createAgentdHandler({ env, logger: () => {}, channelLog: () => {} });
  t.after(() => h.close());
  const made = await h(
    new Request(`${BASE}/v1/tenants`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "sse" }),
    }),
  );
  const { apiKey } = (await made.json()) as { apiKey: string };
  model.script({ text: REPLY, tokenDelayMs: 20 });
  const res = await h(
    new Request(`${BASE}/v1/messages?stream=1`, {
      method: "POST",
      headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
      body: JSON.stringify({ text: "stream to me" }),
    }),
  );
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/event-stream/);
  const body = await res.text(); // the stream ends when the turn does
  const events = [...body.matchAll(/^event: (\S+)/gm)].map((m) => m[1]);
  assert.equal(events[0], "accepted");
  assert.ok(events.filter((e) => e === "text").length > 3, `the reply came in pieces: ${events.join(" ")}`);
  assert.equal(events.at(-1), "done");
  assert.match(body, /Streamed within one invocation/);
  assert.equal(model.calls, 1);
});

test("a Telegram reply is shown as a draft while the model writes, within the webhook's invocation (waitUntil)", {
  skip,
}, async (t) => {
  const { env, tg, model } = await functionRig(t);
  // A minute's limit: the reply streams for seconds on a loaded machine (a shorter limit would carry it to the next tick).
  const h = createAgentdHandler({ env, timeLimitMs: 60_000, logger: () => {}, channelLog: () => {} });
  t.after(() => h.close());
  const app = await h.app();
  const tenant = await app.tenants.create("live", {});
  const { code } = await app.tenants.createPairingCode(tenant.id);
  assert.equal((await h(webhookRequest(BASE, textUpdate(ALICE, `/start ${code}`)))).status, 200);
  model.script({ text: REPLY.repeat(4), tokenDelayMs: 40 });
  const kept: Promise<unknown>[] = [];
  assert.equal(
    (await h(webhookRequest(BASE, textUpdate(ALICE, "hi")), { waitUntil: (p) => kept.push(p) })).status,
    200,
  );
  await Promise.all(kept);
  const drafts = tg.callsOf("sendMessageDraft").filter((c) => String(c.params.chat_id) === String(ALICE.id));
  assert.ok(drafts.length >= 2, `the draft grew while the model wrote (${drafts.length} updates)`);
  assert.equal(sentTo(tg, ALICE.id).at(-1)?.params.text, REPLY.repeat(4));
});

test("the tick runs a tenant's heartbeat when it is due: nothing due calls no model; a due note starts a turn", {
  skip,
}, async (t) => {
  const { env, model } = await functionRig(t);
  const clock = new FakeClock(Date.UTC(2026, 4, 4, 8, 0, 30));
  const h = createAgentdHandler({ env, clock, logger: () => {}, channelLog: () => {} });
  t.after(() => h.close());
  const app = await h.app();
  const made = await h(
    new Request(`${BASE}/v1/tenants`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "beat", settings: { heartbeat: "*/5 * * * *" } }),
    }),
  );
  const { tenant } = (await made.json()) as { tenant: { id: string } };
  const { code } = await app.tenants.createPairingCode(tenant.id);
  assert.equal((await h(webhookRequest(BASE, textUpdate(ALICE, `/start ${code}`)))).status, 200);
  const tick = async () => (await (await h(tickRequest(BASE))).json()) as TickReport;
  const beats = async () => (await app.kernel.listRuns({ workflow: "agent.heartbeat", status: "completed" })).length;
  await tick();
  assert.equal(await beats(), 0, "08:00:30: not due until 08:05");
  await clock.advance(5 * 60_000);
  await tick();
  assert.equal(await beats(), 1, "08:05: the heartbeat ran in the tick");
  assert.equal(model.calls, 0, "nothing due: no model call");
  await app.memory.add(app.tenants.scope(tenant.id), { content: "water the plants", dueAt: clock.now() + 60_000 });
  model.script({ text: "Time to water the plants." });
  await clock.advance(5 * 60_000);
  await tick();
  assert.equal(await beats(), 2, "08:10: the next heartbeat");
  assert.equal(model.calls, 1);
  assert.match(
    JSON.stringify(model.requests.at(-1)?.body.messages),
    /water the plants/,
    "the due note reached the model",
  );
});
