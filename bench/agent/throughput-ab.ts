/**
 * The throughput section's turns in one process, the model's answers read two ways, alternating on
 * fresh places: by the OpenAI provider itself (the model passed in code, as `createAgentd({ model })`
 * takes one) and by agentd's default (agent/openai-stream.ts). CPU per turn beside turns/s; two
 * warm-up apps first, not counted, so neither side pays the process's first compilations.
 *
 *     AB_STORE=sqlite|postgres AB_ROUNDS=4 node bench/agent/throughput-ab.ts
 *
 * With AB_BASE=<another checkout>, the two sides are that checkout's agent/openai-stream.ts and this
 * tree's, each given as the model in code (so both pay the same wrapping): a change to the reading
 * measured in one process, on the same warm code.
 *
 *     AB_BASE=/tmp/base AB_STORE=sqlite node bench/agent/throughput-ab.ts
 */
import { createOpenAI } from "@ai-sdk/openai";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { createAgentd } from "../../packages/agentd/src/app.ts";
import { leanChat } from "../../packages/agentd/src/agent/openai-stream.ts";
import { startModelProcess } from "../agent-model.ts";
import { PG_URL, REPLY } from "./config.ts";
import { ADMIN, benchTenant, pgQuery, round } from "./harness.ts";
import { drive, WARM_UP_MESSAGES } from "./throughput.ts";

const kind = process.env.AB_STORE === "postgres" ? "postgres" : "sqlite";
const rounds = Number(process.env.AB_ROUNDS ?? 4);
const SESSIONS = Array.from({ length: 100 }, (_, s) => s);
const MESSAGES = 5;
const model = await startModelProcess();
await model.reply({ text: REPLY, tokenDelayMs: 0 });

type Side = "provider" | "agentd" | "base" | "head";
type ChatModel = Parameters<typeof leanChat>[0];
const base = process.env.AB_BASE;
const baseLean: typeof leanChat | undefined = base
  ? (await import(join(base, "packages/agentd/src/agent/openai-stream.ts"))).leanChat
  : undefined;
const chat = () =>
  createOpenAI({ apiKey: "bench-key", baseURL: model.url, name: "agentd" }).chat("stand-in") as ChatModel;
const inCode: Record<Side, (() => ChatModel) | undefined> = {
  provider: chat,
  agentd: undefined,
  base: baseLean && (() => baseLean(chat())),
  head: () => leanChat(chat()),
};

async function once(side: Side) {
  const dataDir = mkdtempSync(join(tmpdir(), "agentd-ab-"));
  const pgSchema = kind === "postgres" ? `bench_ab_${randomBytes(6).toString("hex")}` : undefined;
  const app = await createAgentd({
    env: {},
    config: {
      dataDir,
      databaseUrl: pgSchema ? PG_URL : undefined,
      pgSchema,
      adminToken: ADMIN,
      model: { id: "stand-in", baseURL: model.url, apiKey: "bench-key" },
    },
    ...(inCode[side] ? { model: inCode[side]() } : {}),
    logger: () => {},
  });
  try {
    await app.start();
    const tenant = await benchTenant(app, "ab");
    await drive(app, tenant.id, SESSIONS, WARM_UP_MESSAGES, "warm-up");
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await drive(app, tenant.id, SESSIONS, MESSAGES, "session");
    const cpu = process.cpuUsage(cpu0);
    const turns = SESSIONS.length * MESSAGES;
    return {
      side,
      cpu_ms_per_turn: round((cpu.user + cpu.system) / 1000 / turns, 3),
      turns_per_s: round(turns / ((performance.now() - t0) / 1000), 1),
      loadavg: loadavg().map((x) => round(x)),
    };
  } finally {
    await app.close();
    rmSync(dataDir, { recursive: true, force: true });
    if (pgSchema) await pgQuery(`DROP SCHEMA IF EXISTS ${pgSchema} CASCADE`);
  }
}

const [a, b]: [Side, Side] = base ? ["base", "head"] : ["provider", "agentd"];
await once(b);
await once(a);
for (let i = 0; i < rounds; i++)
  for (const side of i % 2 ? [b, a] : [a, b])
    console.log(
      JSON.stringify({ bench: "agent", store: kind, metric: "model_reading_ab", round: i + 1, ...(await once(side)) }),
    );
await model.close();
