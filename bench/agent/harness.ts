import { createOpenAI } from "@ai-sdk/openai";
import { streamText } from "ai";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { type Agentd, createAgentd } from "../../packages/agentd/src/app.ts";
import type { ModelProcess } from "../agent-model.ts";
import { PG_URL } from "./config.ts";

// ---- output -------------------------------------------------------------------------------------

export type Kind = "sqlite" | "postgres";
export const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
export const emit = (metric: string, fields: Record<string, unknown>, store?: Kind) =>
  console.log(JSON.stringify({ bench: "agent", ...(store ? { store } : {}), metric, ...fields }));
export const progress = (s: string) => process.stderr.write(`[agent] ${s}\n`);
/** Nearest-rank percentile. */
export const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return round(s[Math.max(0, Math.ceil(p * s.length) - 1)] ?? Number.NaN);
};
export const dist = (xs: number[]) => ({
  p50: pct(xs, 0.5),
  p99: pct(xs, 0.99),
  mean: round(xs.reduce((a, b) => a + b, 0) / xs.length),
  max: pct(xs, 1),
});
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const targets: Record<string, boolean> = {};
export let kernelErrors = 0;

// ---- places and apps ----------------------------------------------------------------------------

export interface Place {
  kind: Kind;
  dataDir: string;
  databaseUrl?: string;
  pgSchema?: string;
}
export const cleanups = new Set<() => Promise<void>>();

/** A fresh place: a temp folder, plus a fresh schema on Postgres; removed by the returned function. */
function freshPlace(kind: Kind): { place: Place; drop: () => Promise<void> } {
  const dataDir = mkdtempSync(join(tmpdir(), "agentd-bench-"));
  const place: Place =
    kind === "sqlite"
      ? { kind, dataDir }
      : { kind, dataDir, databaseUrl: PG_URL, pgSchema: `bench_agent_${randomBytes(6).toString("hex")}` };
  const drop = async () => {
    cleanups.delete(drop);
    rmSync(dataDir, { recursive: true, force: true });
    if (place.pgSchema) await pgQuery(`DROP SCHEMA IF EXISTS ${place.pgSchema} CASCADE`);
  };
  cleanups.add(drop);
  return { place, drop };
}

export async function pgQuery<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<R[]> {
  const c = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2_000 });
  await c.connect();
  try {
    return (await c.query<R>(sql, params)).rows;
  } finally {
    await c.end();
  }
}

/** agentd as `agentd start` makes it (worker and scheduler in process), talking to the stand-in. */
export async function withApp<T>(
  kind: Kind,
  model: ModelProcess,
  fn: (app: Agentd, place: Place) => Promise<T>,
  env: Record<string, string> = {},
): Promise<T> {
  const { place, drop } = freshPlace(kind);
  try {
    const app = await createAgentd({
      env,
      config: {
        dataDir: place.dataDir,
        databaseUrl: place.databaseUrl,
        pgSchema: place.pgSchema,
        adminToken: ADMIN,
        model: { id: "stand-in", baseURL: model.url, apiKey: "bench-key" },
      },
      logger: (r) => void (r.level === "error" && kernelErrors++),
    });
    try {
      await app.start();
      return await fn(app, place);
    } finally {
      await app.close();
    }
  } finally {
    await drop();
  }
}
export const ADMIN = "bench-admin-token";

/** A tenant whose API rate limit does not get in the benchmark's way. */
export const benchTenant = (app: Agentd, name: string) => app.tenants.create(name, { runsPerMinute: 100_000 });

export async function turn(app: Agentd, tenantId: string, conversation: string, text: string): Promise<void> {
  const r = await app.inbox.receive({ tenantId, channel: "http", conversation, text });
  await app.kernel.result(r.runId);
}

/** The same call agentd makes (the same provider, streamed), straight to the stand-in: the baseline. */
export function directModel(model: ModelProcess) {
  const chat = createOpenAI({ apiKey: "bench-key", baseURL: model.url, name: "agentd" }).chat("stand-in");
  return async (): Promise<{ firstMs: number; totalMs: number }> => {
    const t0 = performance.now();
    let firstMs = Number.NaN;
    const res = streamText({ model: chat, prompt: "Hi", maxRetries: 0 });
    for await (const part of res.stream) {
      if (part.type === "text-delta" && part.text && Number.isNaN(firstMs)) firstMs = performance.now() - t0;
      if (part.type === "error") throw part.error;
    }
    return { firstMs, totalMs: performance.now() - t0 };
  };
}

/**
 * Paired first-token times: agentd's (`through`, given a message index) and the model's own
 * (`direct`), alternating which goes first so neither always follows the other's leftovers. Three
 * warm-up pairs first, not counted (the first request of a path loads its code).
 */
export async function firstTokenPairs(
  pairs: number,
  direct: () => Promise<{ firstMs: number }>,
  through: (i: number) => Promise<number>,
): Promise<{ agentdMs: number[]; directMs: number[]; diff: number[] }> {
  const agentdMs: number[] = [];
  const directMs: number[] = [];
  const diff: number[] = [];
  for (let i = -3; i < pairs; i++) {
    let a: number;
    let d: number;
    if (i % 2 === 0) {
      d = (await direct()).firstMs;
      a = await through(i + 3);
    } else {
      a = await through(i + 3);
      d = (await direct()).firstMs;
    }
    if (i < 0) continue;
    agentdMs.push(a);
    directMs.push(d);
    diff.push(a - d);
  }
  return { agentdMs, directMs, diff };
}
