/**
 * Channels benchmark: Telegram, end to end over HTTP. One JSON object per line on stdout, progress on
 * stderr.
 *
 *     node bench/channels.ts [--store sqlite|postgres|both] [--quick]
 *
 * agentd runs as `agentd start` makes it (worker in process, the webhook served on 127.0.0.1) with
 * the real grammY client talking to the Bot API stand-in (packages/agentd/test/support/
 * telegram-server.ts, in this process, with Telegram's flood control of about one message per second
 * per chat). The model is the OpenAI-compatible stand-in in its own process (bench/agent-model.ts),
 * streaming at a fixed token rate.
 *
 *  - update_to_first_visible: a Telegram update POSTed to the webhook until the stand-in receives the
 *    first thing the person sees of the reply (a draft, or the placeholder message), p50/p99; and the
 *    same less the model's own time to first token.
 *  - calls_per_reply: Bot API calls made for one reply of 2,000 characters, by method, in a private
 *    chat (drafts), a private chat where drafts are refused (edited placeholder), and a group.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import pg from "pg";
import { serveApi } from "../packages/agentd/src/api/index.ts";
import { createAgentd } from "../packages/agentd/src/app.ts";
import { telegramChannel } from "../packages/agentd/src/channels/telegram/index.ts";
import { startTelegramServer } from "../packages/agentd/test/support/telegram-server.ts";
import { startModelProcess, type ModelProcess } from "./agent-model.ts";

const DEFAULT_PG_URL = "postgres://postgres@127.0.0.1:5432/test";
const { values: argv } = parseArgs({
  options: {
    store: { type: "string", default: "" },
    quick: { type: "boolean", default: false },
    help: { type: "boolean", short: "h" },
  },
});
if (argv.help) {
  process.stderr.write("usage: node bench/channels.ts [--store sqlite|postgres|both] [--quick]\n");
  process.exit(0);
}
if (!["", "sqlite", "postgres", "both"].includes(argv.store))
  throw new Error(`--store ${argv.store}: unknown (sqlite, postgres or both)`);
const PG_URL = process.env.DATABASE_URL || DEFAULT_PG_URL;
const UPDATES = argv.quick ? 10 : 100;
/** A model streaming 4-character chunks every 20 ms (about 50 tokens a second), first token after 150 ms. */
const TOKEN_DELAY_MS = 20;
const FIRST_TOKEN_MS = 150;
const SHORT = "Sure, here is the answer you asked for. ".repeat(3).trim();
const LONG = "This sentence is forty characters long. ".repeat(50).trim(); // 2,000 characters less the last space
const SECRET = "bench-secret";

type Kind = "sqlite" | "postgres";
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
const pct = (xs: number[], p: number) =>
  round([...xs].sort((a, b) => a - b)[Math.max(0, Math.ceil(p * xs.length) - 1)] ?? Number.NaN);
const emit = (metric: string, fields: Record<string, unknown>, store: Kind) =>
  console.log(JSON.stringify({ bench: "channels", store, metric, ...fields }));
const progress = (s: string) => process.stderr.write(`[channels] ${s}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function pgReachable(): Promise<boolean> {
  const c = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 1_000 });
  try {
    await c.connect();
    await c.end();
    return true;
  } catch {
    return false;
  }
}

async function pgRun(sql: string) {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

async function bench(kind: Kind, model: ModelProcess) {
  const dataDir = mkdtempSync(join(tmpdir(), "agentd-bench-ch-"));
  const pgSchema = kind === "postgres" ? `bench_ch_${randomBytes(6).toString("hex")}` : undefined;
  const tg = await startTelegramServer({ perChatPerSecond: 1 });
  const app = await createAgentd({
    env: {},
    config: {
      dataDir,
      ...(pgSchema ? { databaseUrl: PG_URL, pgSchema } : {}),
      adminToken: "bench",
      model: { id: "stand-in", baseURL: model.url, apiKey: "k" },
    },
    logger: () => {},
  });
  const errors: string[] = [];
  const ch = telegramChannel(app.channelHost, {
    token: tg.token,
    secretToken: SECRET,
    apiRoot: tg.apiRoot,
    onError: (e) => errors.push(String(e)),
  });
  app.channels.register(ch.adapter);
  await app.start();
  const served = await serveApi(app, { port: 0, mounts: [{ path: "/channels/telegram", app: ch.webhook }] });
  try {
    const tenant = await app.tenants.create("bench", { runsPerMinute: 100_000 });
    let userId = 1000;
    let updateId = 1;
    const newUser = async () => {
      const id = userId++;
      const { code } = await app.tenants.createPairingCode(tenant.id);
      await app.tenants.redeemPairingCode(code, "telegram", String(id));
      return id;
    };
    const post = async (from: number, chat: number, text: string) => {
      const res = await fetch(`${served.url}/channels/telegram`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": SECRET },
        body: JSON.stringify({
          update_id: updateId++,
          message: {
            message_id: updateId,
            date: Math.floor(Date.now() / 1000),
            from: { id: from, is_bot: false, first_name: "U" },
            text,
            chat: chat > 0 ? { id: chat, type: "private", first_name: "U" } : { id: chat, type: "group", title: "g" },
          },
        }),
      });
      if (res.status !== 200) throw new Error(`webhook answered ${res.status}`);
    };
    const callsTo = (chat: number) => tg.calls.filter((c) => String(c.params.chat_id) === String(chat));
    const finalSent = (chat: number, text: string) => tg.visible(chat).some((m) => m.text === text);
    const waitFor = async (cond: () => boolean, what: string) => {
      for (const until = Date.now() + 60_000; !cond(); await sleep(2))
        if (Date.now() > until) throw new Error(`timed out: ${what}`);
    };

    // 1. Update at the webhook → first visible update of the reply.
    await model.reply({ text: SHORT, tokenDelayMs: TOKEN_DELAY_MS, firstTokenDelayMs: FIRST_TOKEN_MS });
    const latencies: number[] = [];
    for (let i = 0; i < UPDATES; i++) {
      const user = await newUser();
      const t0 = Date.now();
      await post(user, user, "hello");
      // Seen by the person: a draft or message the stand-in accepted (a call flood control refused shows nothing).
      const visible = () =>
        callsTo(user).find((c) => (c.method === "sendMessageDraft" || c.method === "sendMessage") && !c.floodRefused);
      await waitFor(() => visible() !== undefined, "the first visible update");
      latencies.push(visible()!.at - t0);
      await waitFor(() => finalSent(user, SHORT), "the reply");
    }
    emit(
      "update_to_first_visible",
      {
        what: "Telegram update POSTed to the webhook → the first draft the person sees (Bot API stand-in receives it)",
        updates: UPDATES,
        ms: { p50: pct(latencies, 0.5), p99: pct(latencies, 0.99), max: pct(latencies, 1) },
        model_first_token_ms: FIRST_TOKEN_MS,
        beyond_model_ms: {
          p50: round(pct(latencies, 0.5) - FIRST_TOKEN_MS),
          p99: round(pct(latencies, 0.99) - FIRST_TOKEN_MS),
        },
      },
      kind,
    );

    // 2. Bot API calls for one reply of 2,000 characters.
    await model.reply({ text: LONG, tokenDelayMs: TOKEN_DELAY_MS, firstTokenDelayMs: FIRST_TOKEN_MS });
    for (const mode of ["private, drafts", "private, drafts refused", "group"] as const) {
      const user = await newUser();
      const chat = mode === "group" ? -user : user;
      tg.draftsUnsupported = mode === "private, drafts refused";
      const refusals = tg.floodRefusals;
      const t0 = Date.now();
      await post(user, chat, "write 2,000 characters");
      await waitFor(
        () =>
          finalSent(chat, LONG) &&
          (mode === "private, drafts" ||
            tg.callsOf("deleteMessage").some((c) => String(c.params.chat_id) === String(chat))),
        "the long reply",
      );
      const ms = Date.now() - t0;
      await sleep(200);
      const calls = callsTo(chat);
      const byMethod: Record<string, number> = {};
      for (const c of calls) byMethod[c.method] = (byMethod[c.method] ?? 0) + 1;
      emit(
        "calls_per_reply",
        {
          what: "Bot API calls for one reply of 2,000 characters streamed at ~50 tokens/s (fewer is better, within flood control)",
          mode,
          reply_chars: LONG.length,
          calls: calls.length,
          by_method: byMethod,
          reply_ms: ms,
          flood_refusals: tg.floodRefusals - refusals,
          visible_messages_after: tg.visible(chat).length,
        },
        kind,
      );
    }
    tg.draftsUnsupported = false;
    if (errors.length) progress(`${errors.length} channel errors, first: ${errors[0]}`);
  } finally {
    await served.close();
    ch.close();
    await app.close();
    await tg.close();
    rmSync(dataDir, { recursive: true, force: true });
    if (pgSchema) await pgRun(`DROP SCHEMA IF EXISTS ${pgSchema} CASCADE`);
  }
}

const stores: Kind[] =
  argv.store === "sqlite"
    ? ["sqlite"]
    : argv.store === "postgres"
      ? ["postgres"]
      : argv.store === "both" || (await pgReachable())
        ? ["sqlite", "postgres"]
        : ["sqlite"];
if (argv.store === "" && stores.length === 1)
  progress(`Postgres not reachable at ${PG_URL.replace(/\/\/[^@]*@/, "//")}: SQLite only`);
const model = await startModelProcess();
try {
  for (const kind of stores) {
    progress(`${kind}: ${UPDATES} updates, then three 2,000-character replies`);
    await bench(kind, model);
  }
} finally {
  await model.close();
}
