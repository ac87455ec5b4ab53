/**
 * Serverless benchmark: agentd as a function (packages/agentd/src/serverless) on Postgres, against
 * the Telegram and model stand-ins. One JSON object per line on stdout.
 *
 *     node bench/serverless.ts [--turns 50]
 *
 *  - cold_start: a fresh process importing agentd/serverless until its first webhook is answered
 *    (import time apart), p50 of 3.
 *  - webhook_answer: a warm instance's answer to a Telegram webhook (persisted, not yet run), p50/p99.
 *  - turn: a webhook until the reply reaches Telegram, with the turn run after the answer through
 *    waitUntil; the same through `agentd start`'s path (a started worker); the extra latency.
 *  - tick_drain: 20 people's messages answered without waitUntil (persisted only), then one tick
 *    drains their turns within the default 10 s limit: its time, turns answered, queries per turn.
 *  - per_turn: invocations, Postgres round trips (queries), and function-seconds per 1,000 turns.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify, parseArgs } from "node:util";
import pg from "pg";
import { createAgentd } from "../packages/agentd/src/app.ts";
import { telegramChannel } from "../packages/agentd/src/channels/telegram/index.ts";
import { createAgentdHandler } from "../packages/agentd/src/serverless/index.ts";
import { startModelServer } from "../packages/agentd/test/support/model-server.ts";
import { startTelegramServer } from "../packages/agentd/test/support/telegram-server.ts";
import { textUpdate } from "../packages/agentd/test/support/telegram-updates.ts";

const { values: argv } = parseArgs({ options: { turns: { type: "string", default: "50" } } });
const TURNS = Number(argv.turns);
/** People whose turns wait for the tick (one turn each: a person's later message would supersede the earlier). */
const TICK_PEOPLE = 20;
const PG_URL = process.env.DATABASE_URL || "postgres://postgres@127.0.0.1:5432/test";
const HOOK = "bench-hook-secret";
const out = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);
const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))] ?? 0;
const round = (x: number) => Math.round(x * 10) / 10;

const schema = `bench_fn_${randomBytes(4).toString("hex")}`;
const dataDir = mkdtempSync(join(tmpdir(), "agentd-bench-fn-"));
const tg = await startTelegramServer();
const model = await startModelServer();
model.fallback = () => ({ text: "ok" });
const env: Record<string, string> = {
  DATABASE_URL: PG_URL,
  AGENTD_PG_SCHEMA: schema,
  AGENTD_DATA: dataDir,
  AGENTD_MASTER_KEY: randomBytes(32).toString("base64"),
  AGENTD_ADMIN_TOKEN: "bench-admin-token-0123456789",
  AGENTD_TICK_SECRET: "bench-tick-secret-0123456789",
  AGENTD_MODEL: "stand-in",
  AGENTD_MODEL_BASE_URL: model.url,
  AGENTD_MODEL_API_KEY: "k",
  TELEGRAM_BOT_TOKEN: tg.token,
  TELEGRAM_WEBHOOK_SECRET: HOOK,
  TELEGRAM_API_ROOT: tg.apiRoot,
};
const webhook = (update: object) =>
  new Request("http://fn.bench/channels/telegram", {
    method: "POST",
    headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": HOOK },
    body: JSON.stringify(update),
  });
const replies = (chat: number) =>
  tg.callsOf("sendMessage").filter((c) => String(c.params.chat_id) === String(chat)).length;
const waitFor = async (ok: () => boolean) => {
  while (!ok()) await new Promise((r) => setTimeout(r, 2));
};

// Round trips: every query a pg client sends, in this process.
let queries = 0;
const query = pg.Client.prototype.query;
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  queries++;
  return (query as (...a: unknown[]) => unknown).apply(this, args);
} as typeof query;

try {
  const handler = createAgentdHandler({ env, logger: () => {}, channelLog: () => {} });
  const app = await handler.app();
  const tenant = await app.tenants.create("bench", {});
  const person = { id: 9001, is_bot: false, first_name: "B", username: "b" };
  const { code } = await app.tenants.createPairingCode(tenant.id);
  await handler(webhook(textUpdate(person, `/start ${code}`)));

  const cold = new URL("../packages/agentd/test/serverless/procs/cold.ts", import.meta.url).pathname;
  const colds: { importMs: number; firstAnswerMs: number }[] = [];
  for (let i = 0; i < 3; i++) {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [cold, "/channels/telegram", JSON.stringify(textUpdate({ ...person, id: 9100 + i }, "hi"))],
      {
        env: { ...env, PATH: process.env.PATH ?? "" },
      },
    );
    colds.push(JSON.parse(stdout));
  }
  out({
    section: "cold_start",
    first_answer_ms_p50: pct(
      colds.map((c) => c.firstAnswerMs),
      0.5,
    ),
    import_ms_p50: pct(
      colds.map((c) => c.importMs),
      0.5,
    ),
  });

  // Warm: the answer, and the turn after it through waitUntil.
  const answers: number[] = [];
  const turns: number[] = [];
  const invocationMs: number[] = [];
  const perTurnQueries: number[] = [];
  for (let i = 0; i < TURNS; i++) {
    const before = replies(person.id);
    const q0 = queries;
    const kept: Promise<unknown>[] = [];
    const t0 = performance.now();
    const res = await handler(webhook(textUpdate(person, `m${i}`)), { waitUntil: (p) => kept.push(p) });
    answers.push(performance.now() - t0);
    if (res.status !== 200) throw new Error(`webhook answered ${res.status}`);
    await waitFor(() => replies(person.id) > before);
    turns.push(performance.now() - t0);
    await Promise.all(kept);
    invocationMs.push(performance.now() - t0);
    perTurnQueries.push(queries - q0);
  }
  out({ section: "webhook_answer", p50_ms: round(pct(answers, 0.5)), p99_ms: round(pct(answers, 0.99)) });

  // The tick: messages of TICK_PEOPLE people answered without waitUntil (persisted, not run), then one
  // tick of the platform's cron drains their turns (after a first tick, which also sets the webhook).
  const tickReq = () =>
    new Request("http://fn.bench/tick", { headers: { authorization: `Bearer ${env.AGENTD_TICK_SECRET}` } });
  await (await handler(tickReq())).text();
  const people = Array.from({ length: TICK_PEOPLE }, (_, i) => ({
    id: 9200 + i,
    is_bot: false,
    first_name: `T${i}`,
    username: `t${i}`,
  }));
  for (const p of people) {
    const { code } = await app.tenants.createPairingCode(tenant.id);
    await handler(webhook(textUpdate(p, `/start ${code}`)));
  }
  const repliedBefore = people.map((p) => replies(p.id));
  for (const p of people) await handler(webhook(textUpdate(p, "tick me")));
  const tq0 = queries;
  const tt0 = performance.now();
  const tickRes = await handler(tickReq());
  const report = (await tickRes.json()) as { drain: { finished: number } | null };
  const tickMs = performance.now() - tt0;
  const answeredByTick = people.filter((p, i) => replies(p.id) > (repliedBefore[i] as number)).length;
  out({
    section: "tick_drain",
    turns_waiting: TICK_PEOPLE,
    turns_answered: answeredByTick,
    runs_finished: report.drain?.finished ?? 0,
    tick_ms: round(tickMs),
    ms_per_turn: round(tickMs / TICK_PEOPLE),
    postgres_queries_per_turn: round((queries - tq0) / TICK_PEOPLE),
    function_limit_ms: 10_000,
  });
  await handler.close();

  // The same turns through `agentd start`'s path: a started worker, the webhook in process.
  const started = await createAgentd({ env, logger: () => {}, channelLog: () => {} });
  await started.start({ channels: false });
  const ch = telegramChannel(started.channelHost, { token: tg.token, secretToken: HOOK, apiRoot: tg.apiRoot });
  started.channels.register(ch.adapter);
  const server: number[] = [];
  for (let i = 0; i < TURNS; i++) {
    const before = replies(person.id);
    const t0 = performance.now();
    await ch.webhook.request("/", {
      method: "POST",
      headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": HOOK },
      body: JSON.stringify(textUpdate(person, `s${i}`)),
    });
    await waitFor(() => replies(person.id) > before);
    server.push(performance.now() - t0);
  }
  ch.close();
  await started.close();
  out({
    section: "turn",
    function_p50_ms: round(pct(turns, 0.5)),
    function_p99_ms: round(pct(turns, 0.99)),
    server_p50_ms: round(pct(server, 0.5)),
    server_p99_ms: round(pct(server, 0.99)),
    extra_p50_ms: round(pct(turns, 0.5) - pct(server, 0.5)),
  });
  const meanS = invocationMs.reduce((a, b) => a + b, 0) / invocationMs.length / 1000;
  out({
    section: "per_turn",
    invocations_with_waitUntil: 1,
    // The webhook's, and the tick's shared by the turns it drained.
    invocations_without_waitUntil: round(1 + 1 / Math.max(1, answeredByTick)),
    postgres_queries_p50: pct(perTurnQueries, 0.5),
    function_seconds_per_1000_turns: round(meanS * 1000),
  });
} finally {
  await tg.close();
  await model.close();
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await c.end();
  rmSync(dataDir, { recursive: true, force: true });
}
