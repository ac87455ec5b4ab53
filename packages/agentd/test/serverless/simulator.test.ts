// The issue's scenario under a function runtime's rules (simulator.ts): webhooks from 5 tenants'
// people on the Telegram and model stand-ins, a 30-step turn, an approval decided hours later, a
// reminder due in 3 days and a daily schedule across Europe's change to summer time, with
// invocations killed at random; the platform's cron calls the tick every 6 hours of scenario time
// (each tick of a minute's cron over 3 days would be 4,000 invocations; the tick's code is the same).
// The limit is 30 s: a cold start on a CI machine at load 20 takes 15 s of it.
import assert from "node:assert/strict";
import { test } from "node:test";
import { FakeClock } from "@agentd/kernel";
import { approvals } from "../../src/agent/approvals.ts";
import { policies } from "../../src/agent/policy.ts";
import { createAgentd } from "../../src/app.ts";
import { sessions } from "../../src/sessions/store.ts";
import type { TickReport } from "../../src/serverless/index.ts";
import { pgUrl } from "../support/backends.ts";
import type { RecordedRequest } from "../support/model-server.ts";
import { textUpdate } from "../support/telegram-updates.ts";
import { functionRig, HOOK_SECRET, TICK_SECRET } from "./rig.ts";
import { FunctionRuntime, type InvocationRecord } from "./simulator.ts";

const HOUR = 3_600_000;
const EVERY = 6 * HOUR;
const START = Date.UTC(2026, 2, 28, 6, 0); // Saturday 06:00 UTC; Europe changes to summer time Sunday 01:00 UTC
const END = Date.UTC(2026, 2, 31, 12, 0);
const users = Array.from({ length: 5 }, (_, i) => ({
  id: 5001 + i,
  is_bot: false,
  first_name: `P${i}`,
  username: `p${i}`,
}));

/** A seeded generator, so a failure can be replayed (the seed is in the test's diagnostics). */
function seeded(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let x = Math.imul(s ^ (s >>> 15), 1 | s);
    x ^= x + Math.imul(x ^ (x >>> 7), 61 | x);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

/** The model: answers by the person's last message and the tool results since. */
function answer(req: RecordedRequest) {
  const messages: { role: string; content: unknown }[] = req.body.messages ?? [];
  const last = messages.findLastIndex((m) => m.role === "user");
  const c = messages[last]?.content;
  const text = typeof c === "string" ? c : Array.isArray(c) ? c.map((p) => p.text ?? "").join("") : "";
  const results = messages.slice(last + 1).filter((m) => m.role === "tool").length;
  if (text === "work")
    return results < 30
      ? { toolCalls: [{ name: "recall", arguments: { query: `step ${results}` } }], firstTokenDelayMs: 1_000 }
      : { text: "Worked 30 steps." };
  if (text === "remember the code")
    return results === 0
      ? { toolCalls: [{ name: "remember", arguments: { content: "the code is 1234" } }] }
      : { text: "Saved." };
  if (text === "remind me")
    return results === 0
      ? { toolCalls: [{ name: "remind", arguments: { prompt: "check the oven", at: "2026-03-31T06:30:00Z" } }] }
      : { text: "Reminder set." };
  if (text.includes("check the oven")) return { text: "Reminder: check the oven." };
  if (text.includes("morning report")) return { text: "Morning report." };
  return { text: `Re: ${text}` };
}

test("the issue's scenario on a function runtime: every message answered once, nothing paid twice, no tick missed silently", {
  skip: pgUrl ? false : "no Postgres (set DATABASE_URL): agentd as a function runs on Postgres only",
  timeout: 900_000,
}, async (t) => {
  const seed = Number(process.env.SIM_SEED ?? Date.now() % 100_000);
  t.diagnostic(`seed ${seed} (SIM_SEED=${seed} replays it)`);
  const random = seeded(seed);
  const { env, tg, model } = await functionRig(t);
  model.fallback = answer;
  const rt = new FunctionRuntime({
    env: { ...env, SIM_TICK_EVERY_MS: String(EVERY), AGENTD_FUNCTION_TIMEOUT: "30" },
    limitMs: 30_000,
    // Most invocations last a second or two: a kill drawn later than that would find them ended.
    killChance: 0.15,
    killWithinMs: 1_500,
    warmChance: 0.9,
    random,
  });
  t.after(() => rt.close());
  // The operator's own view of the store (no worker): setup and the checks at the end.
  const clock = new FakeClock(START);
  const op = await createAgentd({ env, worker: false, api: false, clock, channelLog: () => {}, logger: () => {} });
  t.after(() => op.close());

  let now = START;
  /** Scenario time moves on by at least the real time an invocation took. */
  const invoke = async (req: Parameters<FunctionRuntime["invoke"]>[0], opts: { killAfterAnswer?: boolean } = {}) => {
    const rec = await rt.invoke(req, now, opts);
    now += Math.max(1_000, rec.end - rec.start);
    return rec;
  };
  /**
   * Telegram delivers an update until the webhook answers 200; `killAfterAnswer`: the platform stops
   * the invocation the moment it has answered, before its turn could run (the tick must run it).
   */
  const deliver = async (update: object, opts: { killAfterAnswer?: boolean } = {}) => {
    for (let i = 0; i < 30; i++) {
      const rec = await invoke(
        {
          path: "/channels/telegram",
          method: "POST",
          headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": HOOK_SECRET },
          body: JSON.stringify(update),
        },
        opts,
      );
      if (rec.status === 200) return;
      assert.ok(rec.killed !== null, `the webhook answered ${rec.status}: ${rec.body}`);
    }
    assert.fail("the webhook never answered 200");
  };
  const ticks: { at: number; rec: InvocationRecord; report: TickReport | null }[] = [];
  const tick = async () => {
    const at = now;
    const rec = await invoke({ path: "/tick", headers: { authorization: `Bearer ${TICK_SECRET}` } });
    if (rec.killed === null) assert.equal(rec.status, 200, `the tick answered ${rec.status}: ${rec.body}`);
    ticks.push({ at, rec, report: rec.status === 200 ? (JSON.parse(rec.body as string) as TickReport) : null });
  };
  const say = (u: (typeof users)[number], text: string, opts: { killAfterAnswer?: boolean } = {}) =>
    deliver(textUpdate(u, text), opts);

  // Five tenants, each with a person paired through the webhook.
  const tenants = [];
  for (const [i, u] of users.entries()) {
    const tenant = await op.tenants.create(`t${i}`, i === 0 ? { maxIterations: 40 } : {});
    tenants.push(tenant.id);
    const { code } = await op.tenants.createPairingCode(tenant.id);
    await say(u, `/start ${code}`);
  }
  await policies.set(op.tenants.scope(tenants[2] as string), { tool: "remember", decision: "ask" }, START);
  await tick();

  // 50 messages, 10 from each person, and the three that start long or waiting work.
  for (let i = 0; i < 50; i++) {
    // Every tenth message's invocation is killed as soon as it has answered.
    await say(users[i % 5]!, `m${i}`, { killAfterAnswer: i % 10 === 7 });
    if (i === 5) await say(users[0]!, "work");
    if (i === 20) await say(users[2]!, "remember the code");
    if (i === 30) await say(users[3]!, "remind me");
  }
  // The morning report every day at 09:00 in Berlin, in person 1's chat.
  const s1 = op.tenants.scope(tenants[1] as string);
  const job = await op.jobs.recur(s1, {
    prompt: "morning report",
    cron: "0 9 * * *",
    timezone: "Europe/Berlin",
    sessionId: (await sessions.latest(s1))!.id,
  });

  // The cron, every hour to Tuesday noon; the approval decided five hours after it was asked.
  const s2 = op.tenants.scope(tenants[2] as string);
  let decided = false;
  for (let next = START + EVERY; next <= END; next += EVERY) {
    now = Math.max(now, next);
    await tick();
    if (!decided && now >= START + 5 * HOUR) {
      const [pending] = await approvals.list(s2);
      assert.ok(pending, "the remember call waits for its approval");
      await say(users[2]!, `YES ${pending.code}`);
      decided = true;
    }
  }
  // The last ticks of the scenario, until nothing is left to run: no run pending, none held by an
  // invocation that was killed, none asleep past its time (the reminder is due at the last cron tick,
  // and that tick may be the one killed).
  const leftToRun = async () =>
    (await op.kernel.listRuns({ status: ["pending", "running", "suspended"], limit: 10_000 })).some(
      (r) => r.status !== "suspended" || (r.wakeAt !== null && r.wakeAt <= now),
    );
  for (let i = 0; i < 10 && (await leftToRun()); i++) {
    now += EVERY;
    await tick();
  }

  const texts = (u: (typeof users)[number]) =>
    tg
      .callsOf("sendMessage")
      .filter((c) => String(c.params.chat_id) === String(u.id))
      .map((c) => String(c.params.text));
  // Every message answered exactly once.
  for (let i = 0; i < 50; i++)
    assert.equal(texts(users[i % 5]!).filter((x) => x === `Re: m${i}`).length, 1, `m${i} answered once`);
  assert.equal(texts(users[0]!).filter((x) => x === "Worked 30 steps.").length, 1, "the 30-step turn answered once");
  assert.equal(texts(users[2]!).filter((x) => x === "Saved.").length, 1, "the approved call's turn answered once");
  assert.equal(texts(users[3]!).filter((x) => x === "Reminder set.").length, 1);
  assert.equal(texts(users[3]!).filter((x) => x === "Reminder: check the oven.").length, 1, "the reminder, 3 days on");
  // The schedule at 09:00 in Berlin: 08:00 UTC on Saturday, 07:00 UTC from Sunday (summer time).
  const fired = (await op.jobs.ticks(s1, job.id, 20))!.map((x) => new Date(x.tickAt).toISOString()).sort();
  assert.deepEqual(fired, [
    "2026-03-28T08:00:00.000Z",
    "2026-03-29T07:00:00.000Z",
    "2026-03-30T07:00:00.000Z",
    "2026-03-31T07:00:00.000Z",
  ]);
  assert.equal(texts(users[1]!).filter((x) => x === "Morning report.").length, 4, "each morning report sent once");

  // No model call paid twice: an answer sent in full is asked again only when the invocation that
  // asked was killed before it could record the answer.
  const paid = new Map<string, RecordedRequest>();
  const killedDuring = (at: number) => rt.records.find((r) => r.start <= at && at <= r.end)?.killed ?? "none";
  for (const r of model.requests.filter((x) => x.path === "/v1/chat/completions" && x.completed)) {
    const key = JSON.stringify(r.body.messages);
    const first = paid.get(key);
    if (first) assert.notEqual(killedDuring(first.at), "none", `a model call paid twice: ${key.slice(-300)}`);
    paid.set(key, r);
  }
  // The 30-step turn ran across invocations, each carrying on from the last step recorded.
  const lastUser = (r: RecordedRequest) =>
    r.body.messages.findLast((m: { role: string }) => m.role === "user")?.content;
  const workCalls = model.requests.filter((r) => r.path === "/v1/chat/completions" && lastUser(r) === "work");
  const spans = new Set(workCalls.map((r) => rt.records.find((x) => x.start <= r.at && r.at <= x.end)?.id));
  assert.ok(spans.size >= 2, `the 30-step turn outlived one invocation (${spans.size})`);
  // No step result recorded twice: in every turn's journal each step (model:<i>, tool:<i>:<call>,
  // deliver, ...) has one entry, and the tools' effects are stored once (the fact, the reminder).
  const turnRuns = await op.kernel.listRuns({ workflow: "agent.turn", limit: 1_000 });
  assert.ok(turnRuns.length >= 53, `the turns were run (${turnRuns.length})`);
  for (const run of turnRuns) {
    const names = (await op.kernel.journal(run.id)).filter((e) => e.kind === "step").map((e) => e.name);
    const twice = names.filter((n, i) => names.indexOf(n) !== i);
    assert.deepEqual(twice, [], `steps recorded twice in ${run.id}`);
  }
  const facts = (await op.memory.list(s2, { limit: 100 })).filter((m) => m.content === "the code is 1234");
  assert.equal(facts.length, 1, "the approved fact stored once");
  const reminders = await op.db.get<{ n: number | string }>(
    "SELECT count(*) AS n FROM os_jobs WHERE kind = 'reminder'",
  );
  assert.equal(Number(reminders?.n), 1, "the reminder set once");
  // No tick missed silently: after a tick that was killed, the next one that ran says so.
  for (const [i, x] of ticks.entries()) {
    if (x.rec.killed === null) continue;
    const after = ticks.slice(i + 1).find((y) => y.report);
    if (after)
      assert.ok(
        after.report!.missed >= 1,
        `the tick after the one killed at ${new Date(x.at).toISOString()} reports it`,
      );
  }
  const killed = rt.records.filter((r) => r.killed);
  assert.ok(killed.filter((r) => r.killed === "answered").length >= 5, "five invocations were killed at their answer");
  t.diagnostic(
    JSON.stringify({
      invocations: rt.records.length,
      cold: rt.records.filter((r) => r.cold).length,
      killedRandom: killed.filter((r) => r.killed === "random").length,
      killedAtLimit: killed.filter((r) => r.killed === "limit").length,
      killedAtAnswer: killed.filter((r) => r.killed === "answered").length,
      invocationMsP50: rt.records.map((r) => r.end - r.start).sort((x, y) => x - y)[rt.records.length >> 1],
      ticks: ticks.length,
      modelCalls: model.requests.filter((x) => x.path === "/v1/chat/completions").length,
    }),
  );
});
