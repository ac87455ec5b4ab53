/**
 * agentd benchmark, against the stand-in model (fixed token rate). One JSON object per line on
 * stdout, progress on stderr.
 *
 *     node bench/agent.ts [--store sqlite|postgres|both] [--quick] [--only <sections>]
 *
 * The stand-in (packages/agentd/test/support/model-server.ts, the real Chat Completions protocol)
 * runs in its own process (bench/agent-model.ts) and times each request itself, so "the model's own
 * time" is measured where a model would spend it. Every measurement gets a fresh place: a temp SQLite
 * folder, or a fresh schema on the Postgres of DATABASE_URL, dropped after. See bench/README.md.
 */
import { createOpenAI } from "@ai-sdk/openai";
import { streamText } from "ai";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { cpus, loadavg, release, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { parseArgs } from "node:util";
import pg from "pg";
import { serveApi } from "../packages/agentd/src/api/index.ts";
import { type Agentd, createAgentd } from "../packages/agentd/src/app.ts";
import { connectInspector, inspectorUrl } from "./agent-inspector.ts";
import { type ModelProcess, startModelProcess } from "./agent-model.ts";

// ---- arguments ------------------------------------------------------------------------------------

const SECTIONS = ["start", "memory", "request", "overhead", "ttft", "throughput", "idle"] as const;
type Section = (typeof SECTIONS)[number];
/** Sections measured once per store; the others (an `agentd start` process, on SQLite) run once, when SQLite is measured. */
const PER_STORE: readonly Section[] = ["request", "overhead", "ttft", "throughput", "idle"];
const DEFAULT_PG_URL = "postgres://postgres@127.0.0.1:5432/test";

const { values: argv } = parseArgs({
  options: {
    store: { type: "string", default: "" },
    quick: { type: "boolean", default: false },
    only: { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (argv.help) {
  process.stderr.write(
    `usage: node bench/agent.ts [--store sqlite|postgres|both] [--quick] [--only ${SECTIONS.join(",")}]\n` +
      `  default store: both when Postgres answers (DATABASE_URL, default ${DEFAULT_PG_URL}), else sqlite\n`,
  );
  process.exit(0);
}
if (!["", "sqlite", "postgres", "both"].includes(argv.store)) throw new Error(`--store ${argv.store}: unknown (sqlite, postgres or both)`);
const QUICK = argv.quick;
const only = new Set<Section>(
  argv.only ? argv.only.split(",").map((s) => {
    if (!(SECTIONS as readonly string[]).includes(s)) throw new Error(`--only ${s}: unknown section (known: ${SECTIONS.join(", ")})`);
    return s as Section;
  }) : SECTIONS,
);
const PG_URL = process.env.DATABASE_URL || DEFAULT_PG_URL;

/** Sizes of each measurement; --quick is a smoke run of a few seconds a section. */
const SIZE = QUICK
  ? { turns: 20, direct: 5, pairs: 10, sessions: 20, messages: 3, idleTenants: 200, idleSeconds: 5, starts: 2, memTenants: 200, memIdle: 2 }
  : { turns: 200, direct: 30, pairs: 60, sessions: 100, messages: 5, idleTenants: 1000, idleSeconds: 30, starts: 5, memTenants: 1000, memIdle: 5 };
/** The fixed token rate: a reply of 20 chunks of 4 characters (the stand-in's default chunk), one every 5 ms. */
const TOKENS = 20;
const TOKEN_DELAY_MS = 5;
const REPLY = "abc ".repeat(TOKENS);
const FIRST_TOKEN_DELAY_MS = 50;
const TURNS_PER_CONVERSATION = 20;
const HEARTBEAT_EVERY_SECOND = "* * * * * *";
const HEARTBEAT_IDLE = "*/30 * * * *";

// ---- output -------------------------------------------------------------------------------------

type Kind = "sqlite" | "postgres";
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
const emit = (metric: string, fields: Record<string, unknown>, store?: Kind) =>
  console.log(JSON.stringify({ bench: "agent", ...(store ? { store } : {}), metric, ...fields }));
const progress = (s: string) => process.stderr.write(`[agent] ${s}\n`);
/** Nearest-rank percentile. */
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return round(s[Math.max(0, Math.ceil(p * s.length) - 1)] ?? Number.NaN);
};
const dist = (xs: number[]) => ({ p50: pct(xs, 0.5), p99: pct(xs, 0.99), mean: round(xs.reduce((a, b) => a + b, 0) / xs.length), max: pct(xs, 1) });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const targets: Record<string, boolean> = {};
let kernelErrors = 0;

// ---- places and apps ----------------------------------------------------------------------------

interface Place {
  kind: Kind;
  dataDir: string;
  databaseUrl?: string;
  pgSchema?: string;
}
const cleanups = new Set<() => Promise<void>>();

/** A fresh place: a temp folder, plus a fresh schema on Postgres; removed by the returned function. */
function freshPlace(kind: Kind): { place: Place; drop: () => Promise<void> } {
  const dataDir = mkdtempSync(join(tmpdir(), "agentd-bench-"));
  const place: Place = kind === "sqlite" ? { kind, dataDir } : { kind, dataDir, databaseUrl: PG_URL, pgSchema: `bench_agent_${randomBytes(6).toString("hex")}` };
  const drop = async () => {
    cleanups.delete(drop);
    rmSync(dataDir, { recursive: true, force: true });
    if (place.pgSchema) await pgQuery(`DROP SCHEMA IF EXISTS ${place.pgSchema} CASCADE`);
  };
  cleanups.add(drop);
  return { place, drop };
}

async function pgQuery<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<R[]> {
  const c = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 2_000 });
  await c.connect();
  try {
    return (await c.query<R>(sql, params)).rows;
  } finally {
    await c.end();
  }
}

/** agentd as `agentd start` makes it (worker and scheduler in process), talking to the stand-in. */
async function withApp<T>(kind: Kind, model: ModelProcess, fn: (app: Agentd, place: Place) => Promise<T>): Promise<T> {
  const { place, drop } = freshPlace(kind);
  try {
    const app = await createAgentd({
      env: {},
      config: {
        dataDir: place.dataDir, databaseUrl: place.databaseUrl, pgSchema: place.pgSchema,
        adminToken: ADMIN, model: { id: "stand-in", baseURL: model.url, apiKey: "bench-key" },
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
const ADMIN = "bench-admin-token";

/** A tenant whose API rate limit does not get in the benchmark's way. */
const benchTenant = (app: Agentd, name: string) => app.tenants.create(name, { runsPerMinute: 100_000 });

async function turn(app: Agentd, tenantId: string, conversation: string, text: string): Promise<void> {
  const r = await app.inbox.receive({ tenantId, channel: "http", conversation, text });
  await app.kernel.result(r.runId);
}

/** The same call agentd makes (the same provider, streamed), straight to the stand-in: the baseline. */
function directModel(model: ModelProcess) {
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

// ---- 6. the request for a first "Hi" --------------------------------------------------------------

async function firstRequest(kind: Kind, model: ModelProcess) {
  await model.reply({ text: REPLY });
  await withApp(kind, model, async (app) => {
    const tenant = await app.tenants.create("hi");
    await model.take();
    await turn(app, tenant.id, "new", "Hi");
    const chat = (await model.take({ raw: true })).requests.filter((r) => r.path === "/v1/chat/completions");
    const raw = chat[0]?.raw;
    if (raw === undefined) throw new Error("the stand-in received no chat completion for the first Hi");
    const body = JSON.parse(raw) as { messages: { role: string }[]; tools?: unknown[] };
    const bytes = Buffer.byteLength(raw);
    const size = (v: unknown) => Buffer.byteLength(JSON.stringify(v));
    const pass = bytes <= 6 * 1024;
    targets.first_request_bytes = pass;
    emit("first_request_bytes", {
      what: 'the body of the chat completion request agentd sends for a first "Hi" in a new session (as the stand-in received it)',
      bytes, tokens_estimate: Math.ceil(bytes / 4),
      system_bytes: size(body.messages.filter((m) => m.role === "system")), messages: body.messages.length,
      tools: body.tools?.length ?? 0, tools_bytes: size(body.tools ?? []), model_requests: chat.length,
      target: "≤ 6 KB (6,144 bytes)", pass,
    }, kind);
  });
}

// ---- 1. per-turn overhead -------------------------------------------------------------------------

async function overhead(kind: Kind, model: ModelProcess) {
  await model.reply({ text: REPLY, tokenDelayMs: TOKEN_DELAY_MS });
  // The baseline: the same provider calling the stand-in directly, so the AI SDK's own cost is visible.
  const direct = directModel(model);
  const directWall: number[] = [];
  const directModelMs: number[] = [];
  for (let i = 0; i < SIZE.direct + 3; i++) {
    const { totalMs } = await direct();
    const { calls } = await model.take();
    if (i < 3) continue;
    directWall.push(totalMs);
    directModelMs.push(calls.reduce((a, c) => a + c.ms, 0));
  }
  await withApp(kind, model, async (app) => {
    const tenant = await benchTenant(app, "overhead");
    for (let i = 0; i < 5; i++) await turn(app, tenant.id, "warm-up", `warm-up ${i}`);
    await model.take();
    const over: number[] = [];
    const plain: number[] = [];
    const compacting: number[] = [];
    const wall: number[] = [];
    const modelMs: number[] = [];
    let calls = 0;
    for (let i = 0; i < SIZE.turns; i++) {
      const t0 = performance.now();
      await turn(app, tenant.id, `c${Math.floor(i / TURNS_PER_CONVERSATION)}`, `message ${i}: tell me something`);
      const ms = performance.now() - t0;
      // Turns are sequential, so every request the stand-in answered since the last take is this turn's.
      const taken = (await model.take()).calls;
      const m = taken.reduce((a, c) => a + c.ms, 0);
      calls += taken.length;
      wall.push(ms);
      modelMs.push(m);
      over.push(ms - m);
      // A second call is the summary model folding old messages away (every few turns of a long conversation).
      (taken.length > 1 ? compacting : plain).push(ms - m);
    }
    emit("turn_overhead_ms", {
      what: "turn wall time (inbox.receive to kernel.result) minus the model's own time for the turn's calls, as the stand-in measured them (request received to last byte sent); sequential turns",
      turns: SIZE.turns, turns_per_conversation: TURNS_PER_CONVERSATION, tokens: TOKENS, token_delay_ms: TOKEN_DELAY_MS,
      ...dist(over), plain_turns: { n: plain.length, ...dist(plain) }, compacting_turns: { n: compacting.length, ...dist(compacting) },
      turn_ms: dist(wall), model_ms: dist(modelMs), model_calls: calls,
      direct_call_ms: pct(directWall, 0.5), direct_model_ms: pct(directModelMs, 0.5),
      direct_client_overhead_ms: round(pct(directWall, 0.5) - pct(directModelMs, 0.5)),
      target: "none set: reported",
    }, kind);
  });
}

// ---- 2. time to first token at an SSE client --------------------------------------------------------

interface SseTurn {
  firstMs: number;
  runId: string;
}

/** POST /v1/messages as an SSE client: the time to the first `text` event, read to the end. */
async function sseTurn(url: string, key: string, conversation: string, text: string): Promise<SseTurn> {
  const t0 = performance.now();
  const res = await fetch(`${url}/v1/messages`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, accept: "text/event-stream", "content-type": "application/json" },
    body: JSON.stringify({ text, conversation }),
  });
  if (res.status !== 200 || !res.body) throw new Error(`POST /v1/messages answered ${res.status}: ${await res.text()}`);
  const out: SseTurn = { firstMs: Number.NaN, runId: "" };
  const dec = new TextDecoder();
  let buf = "";
  for await (const part of res.body as unknown as AsyncIterable<Uint8Array>) {
    buf += dec.decode(part, { stream: true });
    for (let i = buf.indexOf("\n\n"); i >= 0; i = buf.indexOf("\n\n")) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1];
      if (event === "text" && Number.isNaN(out.firstMs)) out.firstMs = performance.now() - t0;
      else if (event === "accepted") out.runId = (JSON.parse(/^data: (.*)$/m.exec(block)?.[1] ?? "{}") as { runId: string }).runId;
      else if (event === "error" || event === "end") throw new Error(`the turn's stream ended with ${block}`);
    }
  }
  if (Number.isNaN(out.firstMs)) throw new Error("the SSE stream carried no text event");
  return out;
}

async function firstToken(kind: Kind, model: ModelProcess) {
  await model.reply({ text: REPLY, firstTokenDelayMs: FIRST_TOKEN_DELAY_MS, tokenDelayMs: 1 });
  const direct = directModel(model);
  await withApp(kind, model, async (app) => {
    const api = await serveApi(app, { host: "127.0.0.1", port: 0 });
    try {
      // The tenant and its key come from the API, as an operator would make them.
      const made = await fetch(`${api.url}/v1/tenants`, {
        method: "POST", headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
        body: JSON.stringify({ name: "ttft", settings: { runsPerMinute: 100_000 } }),
      });
      if (made.status !== 201) throw new Error(`POST /v1/tenants answered ${made.status}: ${await made.text()}`);
      const { apiKey } = (await made.json()) as { apiKey: string };
      const viaAgentd = async (i: number) => {
        const r = await sseTurn(api.url, apiKey, `c${Math.floor(i / 10)}`, `message ${i}`);
        // The turn's tail (delivery, maybe a compaction) ends before the next message of the session starts.
        await app.kernel.result(r.runId);
        return r.firstMs;
      };
      const agentdMs: number[] = [];
      const directMs: number[] = [];
      const diff: number[] = [];
      for (let i = -3; i < SIZE.pairs; i++) {
        // Alternating which goes first, so neither always follows the other's leftovers.
        let a: number;
        let d: number;
        if (i % 2 === 0) {
          d = (await direct()).firstMs;
          a = await viaAgentd(i + 3);
        } else {
          a = await viaAgentd(i + 3);
          d = (await direct()).firstMs;
        }
        if (i < 0) continue;
        agentdMs.push(a);
        directMs.push(d);
        diff.push(a - d);
      }
      await model.take();
      const pass = { p50: pct(diff, 0.5) <= 50, p99: pct(diff, 0.99) <= 50 };
      targets.first_token_extra_ms = pass.p50 && pass.p99;
      emit("first_token_extra_ms", {
        what: "time to the first `text` event at an SSE client of POST /v1/messages minus the time to the first text-delta of a direct streamText call to the stand-in, paired (alternating order)",
        pairs: SIZE.pairs, first_token_delay_ms: FIRST_TOKEN_DELAY_MS, ...dist(diff),
        agentd_first_token_ms: dist(agentdMs), direct_first_token_ms: dist(directMs),
        target: "≤ 50 ms", pass,
      }, kind);
    } finally {
      await api.close();
    }
  });
}

// ---- 3. throughput with 100 concurrent sessions -------------------------------------------------------

async function throughput(kind: Kind, model: ModelProcess) {
  await model.reply({ text: REPLY, tokenDelayMs: 0 });
  await withApp(kind, model, async (app) => {
    const tenant = await benchTenant(app, "throughput");
    await Promise.all(Array.from({ length: 10 }, (_, s) => turn(app, tenant.id, `warm-up ${s}`, "warm-up")));
    await model.take();
    const latency: number[] = [];
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: SIZE.sessions }, async (_, s) => {
        for (let m = 0; m < SIZE.messages; m++) {
          const t = performance.now();
          await turn(app, tenant.id, `session ${s}`, `message ${m}`);
          latency.push(performance.now() - t);
        }
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    const { calls } = await model.take();
    const turns = SIZE.sessions * SIZE.messages;
    emit("turns_per_s", {
      what: `${SIZE.sessions} sessions at once, each sending ${SIZE.messages} messages one after another (the next when the previous turn's result is in); instant model (20 tokens, no delay)`,
      sessions: SIZE.sessions, messages_per_session: SIZE.messages, turns, seconds: round(seconds), turns_per_s: round(turns / seconds, 1),
      turn_ms: dist(latency), model_calls: calls.length, target: "none set: reported",
    }, kind);
  });
}

// ---- 7. idle cost: heartbeats with nothing due ------------------------------------------------------

interface HeartbeatCounts {
  runs: number;
  /** Ticks by outcome: a run started, skipped because the previous run was still going, or skipped as missed (the scheduler was late). */
  ticks: Record<string, number>;
  /** Started ticks: the moment the tick was handled minus its due time. */
  lags: number[];
}

/** Completed heartbeat runs and schedule ticks within [from, to), read from the kernel's tables. */
async function heartbeatCounts(place: Place, from: number, to: number): Promise<HeartbeatCounts> {
  const runsSql = "SELECT count(*) AS n FROM runs WHERE workflow = 'agent.heartbeat' AND status = 'completed' AND completed_at >= $1 AND completed_at < $2";
  const ticksSql = `SELECT CASE WHEN status <> 'skipped' THEN status WHEN reason LIKE 'the previous run%' THEN 'skipped_overlap' WHEN reason LIKE 'missed%' THEN 'skipped_missed' ELSE 'skipped_other' END AS outcome,
    count(*) AS n FROM schedule_ticks WHERE fired_at >= $1 AND fired_at < $2 GROUP BY 1`;
  const lagSql = "SELECT fired_at - tick_at AS lag FROM schedule_ticks WHERE status = 'started' AND fired_at >= $1 AND fired_at < $2";
  let rows: { runs: { n: number | string }[]; ticks: { outcome: string; n: number | string }[]; lags: { lag: number | string }[] };
  if (place.kind === "sqlite") {
    const db = new DatabaseSync(join(place.dataDir, "agentd.db"), { readOnly: true });
    const q = <R>(sql: string) => db.prepare(sql.replace("$1", "?").replace("$2", "?")).all(from, to) as R[];
    try {
      rows = { runs: q(runsSql), ticks: q(ticksSql), lags: q(lagSql) };
    } finally {
      db.close();
    }
  } else {
    const s = place.pgSchema as string;
    const q = <R extends pg.QueryResultRow>(sql: string) => pgQuery<R>(sql.replace(/FROM (runs|schedule_ticks)/, `FROM ${s}.$1`), [from, to]);
    rows = { runs: await q(runsSql), ticks: await q(ticksSql), lags: await q(lagSql) };
  }
  return {
    runs: Number(rows.runs[0]?.n ?? 0),
    ticks: Object.fromEntries(rows.ticks.map((r) => [r.outcome, Number(r.n)])),
    lags: rows.lags.map((r) => Number(r.lag)),
  };
}

async function idle(kind: Kind, model: ModelProcess) {
  await model.reply({ text: REPLY });
  await withApp(kind, model, async (app, place) => {
    const t0 = performance.now();
    const n = SIZE.idleTenants;
    let next = 0;
    // Made as POST /v1/tenants makes them (the tenant, then its heartbeat schedule), 8 at a time.
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < n) {
          const tenant = await app.tenants.create(`tenant-${next++}`, { heartbeat: HEARTBEAT_EVERY_SECOND });
          await app.jobs.syncHeartbeat(tenant.id, tenant.settings);
        }
      }),
    );
    const createSeconds = (performance.now() - t0) / 1000;
    await sleep(3_000); // the first ticks of every schedule, and the catch-up of those created early
    // Ticks are due on whole seconds: a window from half past one second to half past another holds
    // exactly `idleSeconds` of them, each handled well inside it.
    await sleep(1_500 - (Date.now() % 1000));
    await model.take();
    const from = Date.now();
    const cpu0 = process.cpuUsage();
    const w0 = performance.now();
    await sleep(SIZE.idleSeconds * 1000);
    const to = Date.now();
    const cpu = process.cpuUsage(cpu0);
    const wallS = (performance.now() - w0) / 1000;
    const { requests } = await model.take();
    const counts = await heartbeatCounts(place, from, to);
    const seconds = (to - from) / 1000;
    const pass = requests.length === 0;
    targets.idle_model_calls = pass;
    emit("idle_heartbeats", {
      what: `${n} tenants, each with a heartbeat every second (${HEARTBEAT_EVERY_SECOND}) and nothing due, for ${SIZE.idleSeconds} s: requests reaching the model, and heartbeat runs completed`,
      tenants: n, cron: HEARTBEAT_EVERY_SECOND, create_seconds: round(createSeconds, 1), seconds: round(seconds, 1),
      model_calls: requests.length, model_calls_per_hour: round((requests.length / seconds) * 3600, 1),
      heartbeat_runs: counts.runs, heartbeat_runs_per_s: round(counts.runs / seconds, 1), due_per_s: n,
      ticks: counts.ticks, tick_lag_ms: { p50: pct(counts.lags, 0.5), p99: pct(counts.lags, 0.99) }, cpu_cores_used: round((cpu.user + cpu.system) / 1e6 / wallS),
      target: "0 model calls", pass,
    }, kind);
  });
}

// ---- 4. process start to ready, 5. resident memory with 1,000 tenants ------------------------------

const MAIN = new URL("../packages/agentd/src/main.ts", import.meta.url).pathname;

interface Spawned {
  pid: number;
  url: string;
  /** What it printed on stderr so far (the inspector's address when started with --inspect). */
  stderr(): string;
  /** Spawn to the `agentd ready at` line on stdout. */
  readyMs: number;
  stop(): Promise<void>;
}

/** `agentd start` on a fresh SQLite data folder, listening on a free port, with no model keys. */
async function spawnAgentd(env: NodeJS.ProcessEnv = {}, nodeArgs: string[] = []): Promise<Spawned> {
  const dataDir = mkdtempSync(join(tmpdir(), "agentd-bench-start-"));
  const childEnv: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: "", AGENTD_PORT: "0", AGENTD_HOST: "127.0.0.1" };
  for (const k of Object.keys(childEnv)) if (/^(OPENAI_|AGENTD_MODEL|AGENTD_EMBEDDING|AGENTD_SUMMARY|AGENTD_ADMIN_TOKEN|AGENTD_DATA|AGENTD_PG)/.test(k)) delete childEnv[k];
  const t0 = performance.now();
  const child = spawn(process.execPath, [...nodeArgs, MAIN, "start", "--data", dataDir], { env: { ...childEnv, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async () => {
    child.kill("SIGTERM");
    await exited;
    rmSync(dataDir, { recursive: true, force: true });
  };
  let err = "";
  try {
    const { url, ms } = await new Promise<{ url: string; ms: number }>((resolve, reject) => {
      let out = "";
      const timer = setTimeout(() => reject(new Error(`agentd start printed no ready line in 30 s: ${out}${err}`)), 30_000);
      child.stderr.on("data", (d: Buffer) => void (err += d));
      child.stdout.on("data", (d: Buffer) => {
        out += d;
        const ready = /^agentd ready at (\S+)/m.exec(out);
        if (ready) {
          clearTimeout(timer);
          resolve({ url: ready[1] as string, ms: performance.now() - t0 });
        }
      });
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`agentd start exited (${code}) before ready: ${out}${err}`));
      });
    });
    return { pid: child.pid as number, url, readyMs: ms, stderr: () => err, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

async function startToReady() {
  const ms: number[] = [];
  for (let i = 0; i < SIZE.starts; i++) {
    const a = await spawnAgentd();
    await a.stop();
    ms.push(round(a.readyMs, 1));
  }
  const p50 = pct(ms, 0.5);
  targets.start_to_ready_ms = p50 <= 1000;
  emit("start_to_ready_ms", {
    what: "spawn of `node packages/agentd/src/main.ts start --data <fresh dir>` (SQLite, AGENTD_PORT=0, DATABASE_URL empty, no model keys) to its `agentd ready at` line on stdout",
    runs: ms.length, p50, runs_ms: ms, target: "≤ 1000 ms (p50)", pass: p50 <= 1000,
  }, "sqlite");
}

/** The process's resident memory from /proc (MB): all of it, its private pages, and file-backed pages (mostly the node binary). */
function rss(pid: number): { rss_mb: number; anon_mb: number; file_mb: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? Number.NaN);
  return { rss_mb: round(kb("VmRSS") / 1024, 1), anon_mb: round(kb("RssAnon") / 1024, 1), file_mb: round(kb("RssFile") / 1024, 1) };
}

async function memory() {
  // The inspector lets the benchmark force a full GC in the unmodified process (it costs a few MB itself).
  const a = await spawnAgentd({ AGENTD_ADMIN_TOKEN: ADMIN }, ["--inspect=127.0.0.1:0"]);
  const wsUrl = inspectorUrl(a.stderr());
  const inspector = wsUrl ? await connectInspector(wsUrl) : null;
  const mb = (bytes: number) => round(bytes / 2 ** 20, 1);
  const gc = async () => {
    const m = await inspector?.gcAndMemory();
    return { ...rss(a.pid), ...(m ? { heap_used_mb: mb(m.heapUsed), external_mb: mb(m.external) } : {}) };
  };
  try {
    const ready = await gc();
    const t0 = performance.now();
    let next = 0;
    // Through the API as an operator would: each POST /v1/tenants stores the tenant, its heartbeat schedule and an API key.
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next < SIZE.memTenants) {
          const res = await fetch(`${a.url}/v1/tenants`, {
            method: "POST", headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
            body: JSON.stringify({ name: `tenant-${next++}`, settings: { heartbeat: HEARTBEAT_IDLE } }),
          });
          if (res.status !== 201) throw new Error(`POST /v1/tenants answered ${res.status}: ${await res.text()}`);
          await res.arrayBuffer();
        }
      }),
    );
    const createSeconds = (performance.now() - t0) / 1000;
    const made = rss(a.pid);
    await sleep(SIZE.memIdle * 1000);
    const idle = rss(a.pid);
    const afterGc = await gc();
    const pass = afterGc.rss_mb <= 150;
    targets.idle_rss_mb = pass;
    emit("idle_rss_mb", {
      what: `RSS (from /proc) of an \`agentd start\` process (SQLite, the API listening, no model) after ${SIZE.memTenants} POST /v1/tenants with a heartbeat (${HEARTBEAT_IDLE}), ${SIZE.memIdle} s idle, then a full GC forced through the inspector`,
      tenants: SIZE.memTenants, heartbeat: HEARTBEAT_IDLE, create_seconds: round(createSeconds, 1), idle_seconds: SIZE.memIdle,
      ...afterGc, gc: inspector !== null, before_gc: idle, after_tenants: made, at_ready_after_gc: ready, target: "≤ 150 MB (after GC)", pass,
    }, "sqlite");
  } finally {
    inspector?.close();
    await a.stop();
  }
}

// ---- main -------------------------------------------------------------------------------------------

async function pgReachable(): Promise<boolean> {
  try {
    await pgQuery("SELECT 1");
    return true;
  } catch {
    return false;
  }
}

process.once("SIGINT", () => void Promise.allSettled([...cleanups].map((c) => c())).finally(() => process.exit(130)));
const started = performance.now();
const pgUp = argv.store === "sqlite" ? false : await pgReachable();
let stores: Kind[];
if (argv.store === "sqlite") stores = ["sqlite"];
else if (argv.store === "postgres") stores = ["postgres"];
else stores = pgUp ? ["sqlite", "postgres"] : ["sqlite"];
emit("meta", {
  quick: QUICK, sections: [...only], stores, node: process.version, platform: `${process.platform} ${release()}`,
  cpu: cpus()[0]?.model ?? "?", cpus: cpus().length, mem_gb: round(totalmem() / 2 ** 30, 1), loadavg: loadavg().map((x) => round(x)),
  model: `stand-in in its own process, ${TOKENS} tokens of 4 characters, ${TOKEN_DELAY_MS} ms apart unless a figure says otherwise`,
});
const failed: string[] = [];
if (argv.store === "postgres" && !pgUp) {
  emit("error", { section: "postgres", error: `Postgres at ${PG_URL.replace(/\/\/[^@]*@/, "//")} does not answer; start it or set DATABASE_URL` });
  failed.push("postgres");
  stores = [];
} else if (!stores.includes("postgres") && argv.store !== "sqlite") {
  emit("skipped", { store: "postgres", reason: `Postgres at ${PG_URL.replace(/\/\/[^@]*@/, "//")} does not answer; only SQLite was measured` });
}

async function section(name: Section, kind: Kind | null, fn: () => Promise<void>) {
  if (!only.has(name)) return;
  progress(`${name}${kind ? ` (${kind})` : ""}`);
  const t0 = performance.now();
  try {
    await fn();
  } catch (e) {
    failed.push(kind ? `${name}:${kind}` : name);
    emit("error", { section: name, error: e instanceof Error ? (e.stack ?? e.message) : String(e) }, kind ?? undefined);
  }
  progress(`${name} done in ${round((performance.now() - t0) / 1000, 1)} s`);
}

// `agentd start` with no DATABASE_URL is SQLite: these two belong to a run that measures SQLite.
if (stores.includes("sqlite")) {
  await section("start", null, startToReady);
  await section("memory", null, memory);
}
if (stores.length > 0 && PER_STORE.some((s) => only.has(s))) {
  const model = await startModelProcess();
  try {
    for (const kind of stores) {
      await section("request", kind, () => firstRequest(kind, model));
      await section("overhead", kind, () => overhead(kind, model));
      await section("ttft", kind, () => firstToken(kind, model));
      await section("throughput", kind, () => throughput(kind, model));
      await section("idle", kind, () => idle(kind, model));
    }
  } finally {
    await model.close();
  }
}
emit("peer", {
  label: "reported, not measured here",
  what: "the popular self-hosted assistant, as the issue reports it, for scale",
  start_to_listening_ms: 11_000, idle_rss_mb: [900, 1_200], hi_request_bytes: 60_000, first_token_ms: 500,
  note: "its first token is an absolute time; first_token_extra_ms above is agentd's addition to the model's own first token",
});
emit("done", { seconds: round((performance.now() - started) / 1000, 1), targets, kernel_error_logs: kernelErrors, failed });
process.exit(failed.length > 0 ? 1 : 0);
