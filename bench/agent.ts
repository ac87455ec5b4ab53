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
 *
 * One file a section in bench/agent/ (request, overhead, ttft, clients, throughput, idle, start-memory, density);
 * config.ts reads the arguments and sizes, harness.ts is what the sections share (output, places and
 * apps, a turn, the direct call to the model).
 */
import { cpus, loadavg, release, totalmem } from "node:os";
import { startModelProcess } from "./agent-model.ts";
import { PER_STORE, PG_URL, QUICK, TOKENS, TOKEN_DELAY_MS, argv, only, type Section } from "./agent/config.ts";
import { cleanups, emit, kernelErrors, pgQuery, progress, round, targets, type Kind } from "./agent/harness.ts";
import { firstRequest } from "./agent/request.ts";
import { overhead } from "./agent/overhead.ts";
import { firstToken } from "./agent/ttft.ts";
import { clientsFirstToken } from "./agent/clients.ts";
import { throughput } from "./agent/throughput.ts";
import { idle } from "./agent/idle.ts";
import { memory, startToReady } from "./agent/start-memory.ts";
import { density } from "./agent/density.ts";

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
  quick: QUICK,
  sections: [...only],
  stores,
  node: process.version,
  platform: `${process.platform} ${release()}`,
  cpu: cpus()[0]?.model ?? "?",
  cpus: cpus().length,
  mem_gb: round(totalmem() / 2 ** 30, 1),
  loadavg: loadavg().map((x) => round(x)),
  model: `stand-in in its own process, ${TOKENS} tokens of 4 characters, ${TOKEN_DELAY_MS} ms apart unless a figure says otherwise`,
});
const failed: string[] = [];
if (argv.store === "postgres" && !pgUp) {
  emit("error", {
    section: "postgres",
    error: `Postgres at ${PG_URL.replace(/\/\/[^@]*@/, "//")} does not answer; start it or set DATABASE_URL`,
  });
  failed.push("postgres");
  stores = [];
} else if (!stores.includes("postgres") && argv.store !== "sqlite") {
  emit("skipped", {
    store: "postgres",
    reason: `Postgres at ${PG_URL.replace(/\/\/[^@]*@/, "//")} does not answer; only SQLite was measured`,
  });
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
const densityAsked = stores.includes("sqlite") && only.has("density");
if ((stores.length > 0 && PER_STORE.some((s) => only.has(s))) || densityAsked) {
  const model = await startModelProcess();
  try {
    // An `agentd start` process of its own, like start and memory (SQLite); asked for by name only.
    if (densityAsked) await section("density", null, () => density(model));
    for (const kind of stores) {
      await section("request", kind, () => firstRequest(kind, model));
      await section("overhead", kind, () => overhead(kind, model));
      await section("ttft", kind, () => firstToken(kind, model));
      await section("clients", kind, () => clientsFirstToken(kind, model));
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
  start_to_listening_ms: 11_000,
  idle_rss_mb: [900, 1_200],
  hi_request_bytes: 60_000,
  first_token_ms: 500,
  note: "its first token is an absolute time; first_token_extra_ms above is agentd's addition to the model's own first token",
});
emit("done", {
  seconds: round((performance.now() - started) / 1000, 1),
  targets,
  kernel_error_logs: kernelErrors,
  failed,
});
process.exit(failed.length > 0 ? 1 : 0);
