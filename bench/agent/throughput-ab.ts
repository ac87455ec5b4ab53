/**
 * The throughput section's turns in one process, the model's answers read two ways, alternating on
 * fresh places: by the OpenAI provider itself (the model passed in code, as `createAgentd({ model })`
 * takes one) and by agentd's default (agent/openai-stream.ts). CPU per turn beside turns/s; two
 * warm-up apps first, not counted, so neither side pays the process's first compilations.
 *
 *     AB_STORE=sqlite|postgres AB_ROUNDS=4 node bench/agent/throughput-ab.ts
 */
import { createOpenAI } from "@ai-sdk/openai";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { createAgentd } from "../../packages/agentd/src/app.ts";
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

async function once(side: "provider" | "agentd") {
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
    ...(side === "provider"
      ? { model: createOpenAI({ apiKey: "bench-key", baseURL: model.url, name: "agentd" }).chat("stand-in") }
      : {}),
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

await once("agentd");
await once("provider");
for (let i = 0; i < rounds; i++)
  for (const side of i % 2 ? (["agentd", "provider"] as const) : (["provider", "agentd"] as const))
    console.log(
      JSON.stringify({ bench: "agent", store: kind, metric: "model_reading_ab", round: i + 1, ...(await once(side)) }),
    );
await model.close();
